"""Delivering one notification to one receiver, at least once: a webhook POST signed per the Standard Webhooks
specification (webhook-id = the notification id, the same on every retry; webhook-timestamp; webhook-signature
v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">, made with the `standardwebhooks` library), five seconds per
attempt, through the outbound guard (outside dev, a connection to a non-public address is refused); or a receipt by
email. Attempts are claimed by a conditional write, so copies of one queue message make one sequence; a failure is
tried again on RETRY_SCHEDULE (10 s ... 24 h, jittered: ~1.8 days in all), then the delivery is FAILED, sent to the
dead-letter queue (an alarm watches it) and its endpoint disabled with the reason."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.core.log import logger
from packvault.core.queues import sqs
from packvault.core.settings import Settings
from packvault.core.times import iso_seconds, parse_iso
from packvault.notifications.fanout import enqueue

RETRY_SCHEDULE = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)  # seconds after each failed attempt
TIMEOUT_SECONDS = 5
LEASE_SECONDS = 60  # longer than one attempt (two 5 s timeouts): a copy that finds it held does not attempt
USER_AGENT = "Packvault-Webhooks/1"


def deliver(settings: Settings, delivery_id: str, not_before: str | None = None, now: datetime | None = None,
            schedule: tuple[int, ...] = RETRY_SCHEDULE) -> str:
    """One queue message: delivered | retry_scheduled | failed | early (sent back to wait) | skipped."""
    now = now or datetime.now(UTC)
    if not_before and parse_iso(not_before) > now:  # SQS delays at most 15 minutes: wait again
        remaining = int((parse_iso(not_before) - now).total_seconds()) + 1
        enqueue(settings, delivery_id, remaining, not_before)
        return "early"
    delivery = store.get_delivery(delivery_id)
    if delivery is None or delivery.status != "PENDING":
        return "skipped"
    if delivery.next_attempt_at and parse_iso(delivery.next_attempt_at) > now:
        return "skipped"  # a stray copy: the scheduled message will come
    if not store.claim_attempt(delivery, iso_seconds(now), iso_seconds(now + timedelta(seconds=LEASE_SECONDS))):
        return "skipped"  # another copy of this message is attempting it
    attempt = int(delivery.attempts)  # after the claim: this attempt's number (1, 2, ...)
    status, error = _attempt(settings, delivery)
    if status is not None and 200 <= status < 300:
        store.record_attempt(delivery, "DELIVERED", status, None, None)
        _recovered(delivery)
        return "delivered"
    if attempt <= len(schedule):
        wait = schedule[attempt - 1] * random.uniform(0.8, 1.2)
        next_at = iso_seconds(now + timedelta(seconds=wait))
        store.record_attempt(delivery, "PENDING", status, error, next_at)
        enqueue(settings, delivery_id, int(wait), next_at)
        return "retry_scheduled"
    store.record_attempt(delivery, "FAILED", status, error, None)
    _give_up(settings, delivery, status, error)
    return "failed"


def _attempt(settings: Settings, delivery: store.DeliveryRecord) -> tuple[int | None, str | None]:
    """(the receiver's HTTP status or None, what went wrong)."""
    if delivery.receiver.startswith("email:"):
        return _email(settings, delivery)
    endpoint = store.get_endpoint(delivery.receiver)
    if endpoint is None or not endpoint.active:
        return None, "the endpoint is disabled"
    body = json.dumps(delivery.body, separators=(",", ":"))
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               **signature_headers(endpoint.secret, delivery.notification_id, body)}
    try:
        answer = _session(settings).post(endpoint.url, data=body.encode(), headers=headers,
                                         timeout=(TIMEOUT_SECONDS, TIMEOUT_SECONDS), allow_redirects=False)
    except Exception as exc:  # refused by the guard, DNS, timeout, reset: all the receiver's failure
        from packvault.core.outbound import refused_by_guard

        refused = refused_by_guard(exc)
        return None, f"refused: {refused}" if refused else exc.__class__.__name__
    return answer.status_code, None if answer.ok else f"HTTP {answer.status_code}"


def signature_headers(secret: str, message_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (its timestamp is the attempt's)."""
    from standardwebhooks import Webhook

    moment = at or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, moment, body)}


def _session(settings: Settings) -> Any:
    from packvault.notifications.endpoints import private_allowed

    if private_allowed(settings):  # the local stack's receiver is on 127.0.0.1
        import requests

        session = requests.Session()
        session.trust_env = False
        return session
    from packvault.core.outbound import guarded_session

    return guarded_session()


def _email(settings: Settings, delivery: store.DeliveryRecord) -> tuple[int | None, str | None]:
    from packvault.accounts.mail import send
    from packvault.accounts.principal import identities
    from packvault.core.errors import PackvaultError
    from packvault.notifications.receipts import receipt

    account_id = delivery.receiver.removeprefix("email:")
    addresses = [row.value for row in identities(account_id) if row.kind == "email"]
    if not addresses or not store.email_receipts_wanted(account_id):
        return 204, None  # nothing to send any more: done
    subject, text, html = receipt(delivery.body)
    try:
        send(settings, addresses[0], subject, text, html)
    except PackvaultError as refused:
        return None, refused.message
    return 250, None


def _recovered(delivery: store.DeliveryRecord) -> None:
    endpoint = store.get_endpoint(delivery.receiver) if not delivery.receiver.startswith("email:") else None
    if endpoint is not None and endpoint.failing_since:
        endpoint.update(actions=[store.WebhookEndpointRecord.failing_since.remove()])


def _give_up(settings: Settings, delivery: store.DeliveryRecord, status: int | None, error: str | None) -> None:
    """The last attempt failed: the dead-letter queue (its alarm tells operators) and, for an endpoint, disabled
    with the reason (it has been failing for more than a day: the schedule spans that)."""
    logger.error("notification not delivered", extra={"receiver": delivery.receiver,
                                                       "notification": delivery.notification_id, "status": status})
    if settings.notifications_dead_letter_url:
        sqs(settings).send_message(
            QueueUrl=settings.notifications_dead_letter_url,
            MessageBody=json.dumps({"delivery": f"{delivery.receiver}#{delivery.notification_id}",
                                    "last_status": status, "last_error": error}))
    if not delivery.receiver.startswith("email:"):
        from packvault.notifications.endpoints import set_active

        set_active(delivery.receiver, False, f"{delivery.notification_type} {delivery.notification_id} failed "
                                             f"{int(delivery.attempts)} times over more than a day: {error}")


def replay(delivery_id: str, settings: Settings) -> dict[str, Any]:
    """An operator's replay of one delivery: a new attempt sequence with the same id and body."""
    from packvault.core.errors import ErrorCode, PackvaultError

    delivery = store.get_delivery(delivery_id)
    if delivery is None:
        raise PackvaultError(ErrorCode.DELIVERY_NOT_FOUND)
    store.reset_delivery(delivery)
    store.record_event(delivery.pk, "DELIVERY_REPLAYED", {"receiver": delivery.receiver})
    enqueue(settings, delivery_id)
    return view(store.get_delivery(delivery_id) or delivery)


def view(delivery: store.DeliveryRecord) -> dict[str, Any]:
    return {"delivery_id": f"{delivery.receiver}#{delivery.notification_id}", "notification_id":
            delivery.notification_id, "type": delivery.notification_type, "status": delivery.status,
            "attempts": int(delivery.attempts), "last_status": delivery.last_status, "last_error": delivery.last_error,
            "next_attempt_at": delivery.next_attempt_at, "delivered_at": delivery.delivered_at,
            "created_at": delivery.created_at}
