"""Open Payments flows: what an interactive payment needs to resume after the buyer's round trip to their wallet.

    OPFLOW#<opening_id>  OPEN_PAYMENTS  wallets, incoming payment, quote, GNAP continuation and nonces, the
                                        finish key's hash, who is finishing it and the outgoing payment (TTL)

Kept apart from the opening because it holds secrets (access tokens, nonces) that no view of an opening shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.core.times import iso_seconds, parse_iso
from packvault.store.openings import IdempotencyRecord, OpeningRecord
from packvault.store.table import (
    EventRecord,
    Row,
    TableMeta,
    connection,
    is_condition_failure,
    new_event,
    register,
    utc_now_iso,
)

FLOW_SORT_KEY = "OPEN_PAYMENTS"
FLOW_KEEP_SECONDS = 7 * 86400  # kept a week past its quote for support; the opening keeps the public references


class OpenPaymentsFlowRecord(Row):
    class Meta(TableMeta):
        pass

    opening_id = UnicodeAttribute()
    seller = MapAttribute()  # id, auth_server, resource_server, asset_code, asset_scale
    buyer = MapAttribute()
    incoming_payment = UnicodeAttribute()
    incoming_token = UnicodeAttribute()  # the seller's incoming-payment access token (read, complete)
    incoming_manage = UnicodeAttribute(null=True)
    price = UnicodeAttribute()  # what the incoming payment must receive, in the seller's asset (integer string)
    quote_id = UnicodeAttribute()
    debit_amount = MapAttribute()
    grant_endpoint = UnicodeAttribute()  # the buyer's authorization server: part of the finish hash
    client_nonce = UnicodeAttribute()
    server_nonce = UnicodeAttribute()
    continue_uri = UnicodeAttribute()
    continue_token = UnicodeAttribute()
    finish_key_hash = UnicodeAttribute()
    expires_at = UnicodeAttribute()  # the quote's expiry: no outgoing payment is created after it
    finish_claimed_at = UnicodeAttribute(null=True)
    finish_claimed_by = UnicodeAttribute(null=True)
    interact_ref = UnicodeAttribute(null=True)
    outgoing_payment = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # paying | refused: <why> (the continuation or the outgoing payment)
    return_url = UnicodeAttribute(null=True)  # where finish sends the browser (the buyer's page), when it asked
    created_at = UnicodeAttribute()
    ttl = NumberAttribute()


register(OpenPaymentsFlowRecord)


def flow_pk(opening_id: str) -> str:
    return f"OPFLOW#{opening_id}"


def new_flow(opening: OpeningRecord, **fields: Any) -> OpenPaymentsFlowRecord:
    expires = parse_iso(opening.quote_expires_at)
    return OpenPaymentsFlowRecord(pk=flow_pk(opening.opening_id), sk=FLOW_SORT_KEY, opening_id=opening.opening_id,
                                  expires_at=opening.quote_expires_at, created_at=utc_now_iso(),
                                  ttl=int(expires.timestamp()) + FLOW_KEEP_SECONDS, **fields)


def get_flow(opening_id: str) -> OpenPaymentsFlowRecord | None:
    try:
        return OpenPaymentsFlowRecord.get(flow_pk(opening_id), FLOW_SORT_KEY, consistent_read=True)
    except OpenPaymentsFlowRecord.DoesNotExist:
        return None


def attach_open_payments(opening: OpeningRecord, flow: OpenPaymentsFlowRecord, references: dict[str, Any],
                         idempotency: IdempotencyRecord | None, answer: dict[str, Any]) -> bool:
    """Persist a started flow, the opening's public references and the remembered answer, together, while the
    opening is still QUOTED. False if it is not (released meanwhile)."""
    event = new_event(opening.pk, "OPEN_PAYMENTS_REQUESTED", references)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.rail_refs.set({**(opening.rail_refs or {}), **references}),
                OpeningRecord.updated_at.set(utc_now_iso())],
                condition=(OpeningRecord.rail == "open_payments") & (OpeningRecord.status == "QUOTED"))
            transaction.save(flow, condition=OpenPaymentsFlowRecord.pk.does_not_exist())
            if idempotency is not None:
                transaction.update(idempotency, actions=[IdempotencyRecord.status_code.set(201),
                                                         IdempotencyRecord.response.set(answer)])
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            return False
        raise
    opening.rail_refs = {**(opening.rail_refs or {}), **references}
    return True


def claim_finish(flow: OpenPaymentsFlowRecord, opening: OpeningRecord, interact_ref: str, request_id: str,
                 now: datetime, lease_seconds: int) -> bool:
    """Take the right to continue the grant and create the outgoing payment: one request at a time, none once an
    outgoing payment exists, and only while the opening is QUOTED. A claim older than the lease (its request
    died) can be taken over."""
    stale = iso_seconds(now - timedelta(seconds=lease_seconds))
    claimed_at = iso_seconds(now)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(flow, actions=[
                OpenPaymentsFlowRecord.finish_claimed_at.set(claimed_at),
                OpenPaymentsFlowRecord.finish_claimed_by.set(request_id),
                OpenPaymentsFlowRecord.interact_ref.set(interact_ref)],
                condition=OpenPaymentsFlowRecord.outgoing_payment.does_not_exist()
                & OpenPaymentsFlowRecord.outcome.does_not_exist()
                & (OpenPaymentsFlowRecord.finish_claimed_at.does_not_exist()
                   | (OpenPaymentsFlowRecord.finish_claimed_at < stale)))
            transaction.condition_check(OpeningRecord, opening.pk, opening.sk,
                                        condition=OpeningRecord.status == "QUOTED")
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            return False
        raise
    flow.finish_claimed_at, flow.finish_claimed_by, flow.interact_ref = claimed_at, request_id, interact_ref
    return True


def release_finish(flow: OpenPaymentsFlowRecord, request_id: str) -> None:
    """Give a claim back (the wallet could not be reached): the next finish may try again at once."""
    try:
        flow.update(actions=[OpenPaymentsFlowRecord.finish_claimed_at.remove()],
                    condition=OpenPaymentsFlowRecord.finish_claimed_by == request_id)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def record_flow_outcome(flow: OpenPaymentsFlowRecord, opening: OpeningRecord, outcome: str,
                        outgoing_payment: str | None, details: dict[str, Any]) -> None:
    """What the finish did: an outgoing payment created (`paying`) or the wallet's refusal; with an event on the
    opening."""
    event = new_event(opening.pk, "OPEN_PAYMENTS_OUTGOING_PAYMENT" if outgoing_payment else "OPEN_PAYMENTS_REFUSED",
                      {"outcome": outcome, "outgoing_payment": outgoing_payment, **details})
    actions = [OpenPaymentsFlowRecord.outcome.set(outcome)]
    if outgoing_payment is not None:
        actions.append(OpenPaymentsFlowRecord.outgoing_payment.set(outgoing_payment))
    with TransactWrite(connection=connection()) as transaction:
        transaction.update(flow, actions=actions)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())
    flow.outcome, flow.outgoing_payment = outcome, outgoing_payment or flow.outgoing_payment


def refresh_incoming_token(flow: OpenPaymentsFlowRecord, token: str, manage: str | None) -> None:
    flow.update(actions=[OpenPaymentsFlowRecord.incoming_token.set(token),
                         OpenPaymentsFlowRecord.incoming_manage.set(manage)])
