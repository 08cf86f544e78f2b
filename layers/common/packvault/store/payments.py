"""Payments made usable once: claim rows keyed by rail and payment id, outside events' markers, and
refunds that came before any settlement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from packvault.core.times import iso_millis
from packvault.store.table import (
    EventRecord,
    Row,
    TableMeta,
    connection,
    new_event,
    register,
    utc_now_iso,
)


class PaymentClaimRecord(Row):
    class Meta(TableMeta):
        pass

    rail = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    opening_id = UnicodeAttribute()
    wallet = UnicodeAttribute()
    claimed_at = UnicodeAttribute()


class ProcessedEventRecord(Row):
    """An outside service's event (a Stripe webhook) that has had its effect: written in the same transaction
    as that effect, so a duplicate delivery finds it and changes nothing."""

    class Meta(TableMeta):
        pass

    event_type = UnicodeAttribute()
    opening_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    processed_at = UnicodeAttribute()
    ttl = NumberAttribute()


class EarlyRefundRecord(Row):
    """A payment the provider refunded before any opening claimed it. The open transaction checks that no such
    row exists, so a refund and a settlement racing each other cannot both win."""

    class Meta(TableMeta):
        pass

    payment_id = UnicodeAttribute()
    refunded_at = UnicodeAttribute()


PAYMENT_SORT_KEY = "PAYMENT"


WEBHOOK_SORT_KEY = "WEBHOOK"


PROCESSED_EVENT_TTL_SECONDS = 90 * 86400  # far beyond Stripe's 3 days of retries


def payment_pk(rail: str, payment_id: str) -> str:
    return f"PAYMENT#{rail}#{payment_id}"


def get_payment_claim(rail: str, payment_id: str) -> PaymentClaimRecord | None:
    try:
        return PaymentClaimRecord.get(payment_pk(rail, payment_id), PAYMENT_SORT_KEY, consistent_read=True)
    except PaymentClaimRecord.DoesNotExist:
        return None


def processed_event(rail: str, event_id: str, event_type: str, opening_id: str | None,
                    outcome: str) -> ProcessedEventRecord:
    """The marker of an outside event; pass it to the write that carries the event's effect."""
    now = datetime.now(UTC)
    return ProcessedEventRecord(pk=f"WEBHOOK#{rail}#{event_id}", sk=WEBHOOK_SORT_KEY, event_type=event_type,
                                opening_id=opening_id, outcome=outcome, processed_at=iso_millis(now),
                                ttl=int(now.timestamp()) + PROCESSED_EVENT_TTL_SECONDS)


def get_processed_event(rail: str, event_id: str) -> ProcessedEventRecord | None:
    try:
        return ProcessedEventRecord.get(f"WEBHOOK#{rail}#{event_id}", WEBHOOK_SORT_KEY, consistent_read=True)
    except ProcessedEventRecord.DoesNotExist:
        return None


def mark_processed(transaction: TransactWrite, marker: ProcessedEventRecord | None) -> None:
    if marker is not None:
        transaction.save(marker, condition=ProcessedEventRecord.pk.does_not_exist())


def record_processed(marker: ProcessedEventRecord, entity_pk: str, payload: dict[str, Any]) -> bool:
    """An event that changes no state still leaves its trace: the marker and an event, together.
    False if the marker was already there (a duplicate delivery)."""
    event = new_event(entity_pk, f"{marker.event_type.upper().replace('.', '_')}_NOTED",
                      {**payload, "outcome": marker.outcome})
    try:
        with TransactWrite(connection=connection()) as transaction:
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            return False
        raise
    return True


EARLY_REFUND_SORT_KEY = "REFUNDED"


def early_refund_pk(rail: str, payment_id: str) -> str:
    return f"REFUNDED#{rail}#{payment_id}"


def record_early_refund(rail: str, payment_id: str, marker: ProcessedEventRecord, payload: dict[str, Any]) -> bool:
    """A refund for a payment no opening has claimed (yet): remembered, with the event that said so."""
    row = EarlyRefundRecord(pk=early_refund_pk(rail, payment_id), sk=EARLY_REFUND_SORT_KEY, payment_id=payment_id,
                            refunded_at=utc_now_iso())
    event = new_event(row.pk, "REFUNDED_BEFORE_SETTLEMENT", payload)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(row)
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            return False
        raise
    return True


def early_refund(rail: str, payment_id: str) -> EarlyRefundRecord | None:
    try:
        return EarlyRefundRecord.get(early_refund_pk(rail, payment_id), EARLY_REFUND_SORT_KEY, consistent_read=True)
    except EarlyRefundRecord.DoesNotExist:
        return None


register(PaymentClaimRecord, ProcessedEventRecord, EarlyRefundRecord)
