"""Notifications out (docs/ARCHITECTURE.md, "Notifications"): partners' webhook endpoints, each delivery of a
notification to one receiver (an endpoint or a buyer's email) with its attempts, and buyers' email preferences:

    WEBHOOKENDPOINT#<endpoint_id>        ENDPOINT     URL, event types, signing secret, active, why disabled
                                                      GSI1: WEBHOOKENDPOINTS / <endpoint_id>
    DELIVERY#<receiver>#<notification>   DELIVERY     the notification's body, status, attempts, last answer
                                                      GSI1: DELIVERIES#<receiver> / <created>#<notification>
    NOTIFYPREFS#<account_id>             PREFS        whether the buyer wants receipts by email

A delivery row is created once per (receiver, notification) — the stream may hand the same event over twice — and
its attempts move by conditional writes, so duplicate queue messages make one attempt sequence.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from packvault.store.table import (
    ByKindIndex,
    Page,
    Row,
    TableMeta,
    is_condition_failure,
    newest_first,
    record_event,
    register,
    utc_now_iso,
)

ENDPOINTS_LIST_KEY = "WEBHOOKENDPOINTS"


class WebhookEndpointRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=ENDPOINTS_LIST_KEY)
    gsi1sk = UnicodeAttribute()
    endpoint_id = UnicodeAttribute()
    url = UnicodeAttribute()
    event_types = ListAttribute(of=UnicodeAttribute)
    secret = UnicodeAttribute()  # whsec_<base64>: the receiver needs it to verify; shown once, kept to sign
    active = BooleanAttribute()
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class DeliveryRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute()  # DELIVERIES#<receiver>
    gsi1sk = UnicodeAttribute()  # <created>#<notification_id>
    receiver = UnicodeAttribute()  # an endpoint id, or email:<account_id>
    notification_id = UnicodeAttribute()
    notification_type = UnicodeAttribute()
    body = JSONAttribute()  # {id, type, created, data}: what is sent, the same on every attempt
    status = UnicodeAttribute()  # PENDING | DELIVERED | FAILED
    attempts = NumberAttribute()
    next_attempt_at = UnicodeAttribute(null=True)
    attempting_until = UnicodeAttribute(null=True)  # an attempt in flight: nobody else attempts before then
    last_status = NumberAttribute(null=True)  # the receiver's last HTTP status (None: no answer)
    last_error = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class NotificationPrefsRecord(Row):
    class Meta(TableMeta):
        pass

    email_receipts = BooleanAttribute()
    updated_at = UnicodeAttribute()


def endpoint_pk(endpoint_id: str) -> str:
    return f"WEBHOOKENDPOINT#{endpoint_id}"


def delivery_pk(receiver: str, notification_id: str) -> str:
    return f"DELIVERY#{receiver}#{notification_id}"


def deliveries_key(receiver: str) -> str:
    return f"DELIVERIES#{receiver}"


def get_endpoint(endpoint_id: str) -> WebhookEndpointRecord | None:
    try:
        return WebhookEndpointRecord.get(endpoint_pk(endpoint_id), "ENDPOINT", consistent_read=True)
    except WebhookEndpointRecord.DoesNotExist:
        return None


def list_endpoints() -> list[WebhookEndpointRecord]:
    return list(WebhookEndpointRecord.by_kind.query(ENDPOINTS_LIST_KEY))


def put_endpoint(endpoint: WebhookEndpointRecord, event_type: str, payload: dict[str, Any]) -> None:
    endpoint.save()
    record_event(endpoint.pk, event_type, payload)


def get_delivery(delivery_id: str) -> DeliveryRecord | None:
    try:
        return DeliveryRecord.get(f"DELIVERY#{delivery_id}", "DELIVERY", consistent_read=True)
    except DeliveryRecord.DoesNotExist:
        return None


def create_delivery(receiver: str, notification: dict[str, Any]) -> DeliveryRecord | None:
    """The delivery of `notification` to `receiver`, once; None if it exists already (a replayed stream record)."""
    now = utc_now_iso()
    row = DeliveryRecord(pk=delivery_pk(receiver, notification["id"]), sk="DELIVERY",
                         gsi1pk=deliveries_key(receiver), gsi1sk=f"{notification['created']}#{notification['id']}",
                         receiver=receiver, notification_id=notification["id"], notification_type=notification["type"],
                         body=notification, status="PENDING", attempts=0, created_at=now)
    try:
        row.save(condition=DeliveryRecord.pk.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return None
    return row


def claim_attempt(delivery: DeliveryRecord, now: str, until: str) -> bool:
    """Count an attempt from the number read, while PENDING and no attempt is in flight (a lease until `until`,
    longer than an attempt can take): two copies of one queue message cannot both attempt."""
    try:
        delivery.update(actions=[DeliveryRecord.attempts.add(1), DeliveryRecord.attempting_until.set(until)],
                        condition=(DeliveryRecord.attempts == int(delivery.attempts))
                        & (DeliveryRecord.status == "PENDING")
                        & (DeliveryRecord.attempting_until.does_not_exist()
                           | (DeliveryRecord.attempting_until < now)))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def record_attempt(delivery: DeliveryRecord, status: str, http_status: int | None, error: str | None,
                   next_attempt_at: str | None) -> None:
    now = utc_now_iso()
    actions = [DeliveryRecord.status.set(status), DeliveryRecord.last_status.set(http_status),
               DeliveryRecord.last_error.set(error), DeliveryRecord.attempting_until.remove()]
    actions.append(DeliveryRecord.next_attempt_at.set(next_attempt_at) if next_attempt_at
                   else DeliveryRecord.next_attempt_at.remove())
    if status == "DELIVERED":
        actions.append(DeliveryRecord.delivered_at.set(now))
    delivery.update(actions=actions)


def reset_delivery(delivery: DeliveryRecord) -> None:
    """An operator's replay: a new attempt sequence (the same notification id and body)."""
    delivery.update(actions=[DeliveryRecord.status.set("PENDING"), DeliveryRecord.attempts.set(0),
                             DeliveryRecord.next_attempt_at.remove(), DeliveryRecord.attempting_until.remove()])


def receiver_deliveries(receiver: str, limit: int, cursor: str | None) -> Page:
    return newest_first(DeliveryRecord.by_kind, "gsi1pk", deliveries_key(receiver), limit, cursor)


def email_receipts_wanted(account_id: str) -> bool:
    try:
        return bool(NotificationPrefsRecord.get(f"NOTIFYPREFS#{account_id}", "PREFS").email_receipts)
    except NotificationPrefsRecord.DoesNotExist:
        return True  # receipts are on until the buyer turns them off


def set_email_receipts(account_id: str, wanted: bool) -> None:
    NotificationPrefsRecord(pk=f"NOTIFYPREFS#{account_id}", sk="PREFS", email_receipts=wanted,
                            updated_at=utc_now_iso()).save()
    record_event(f"NOTIFYPREFS#{account_id}", "EMAIL_RECEIPTS_" + ("ON" if wanted else "OFF"), {})


register(WebhookEndpointRecord, DeliveryRecord, NotificationPrefsRecord)
