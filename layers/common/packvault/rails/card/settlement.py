"""Card settlement: Stripe's webhook events, and the sweep's look at a card opening that is due.

Events arrive more than once and in any order; each one's marker (WEBHOOK#stripe#<event id>) is written in
the same transaction as its effect, so a duplicate finds it and changes nothing, and a crash never records an
event without its effect. The outcomes:

    checkout.session.completed (paid), .async_payment_succeeded -> open (QUOTED), re-reserve and open or
                                                                   REFUND_DUE + refund (EXPIRED), else noted
    checkout.session.completed (unpaid)                         -> noted: an async payment is on its way
    checkout.session.async_payment_failed, .expired             -> release the unit (QUOTED), else noted
    charge.refunded (in full)                                   -> OPENED -> REFUNDED (items revoked),
                                                                   REFUND_DUE -> REFUNDED; before any
                                                                   settlement: remembered, so it opens nothing
A session that does not match its opening's quote (amount, currency, livemode, session id) opens nothing:
the mismatch is recorded, and money that was really taken becomes REFUND_DUE and is refunded. A refund Stripe
did not accept (down, or refused) stays pending on the opening (`payment.refund_request`, shown to operators)
and the sweep asks again with the same idempotency key, backing off, until Stripe accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from packvault import store
from packvault.core import context
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.settlement import STRIPE, Settlement
from packvault.core.times import iso_seconds
from packvault.rails.card.stripe_api import (
    ProviderRefused,
    ProviderUnavailable,
    StripeCheckout,
    WebhookMalformed,
    WebhookRejected,
    charge_payment_intent,
    is_paid,
    session_mismatch,
    settlement,
)
from packvault.sales import products
from packvault.sales.openings import OPENING_ID
from packvault.sales.settle import open_paid, settle_expired

if TYPE_CHECKING:  # the sweep's types only: the function that sweeps imports it, the others need not
    from packvault.sales.expiry import SettleDue, SweepReport

ASYNC_RECHECK_SECONDS = 3600
REFUND_RETRY_FIRST_SECONDS = 60  # then doubling, up to
REFUND_RETRY_MAX_SECONDS = 3600
UNMATCHED_PK = "STRIPE#UNMATCHED"  # events naming no opening of ours are still recorded, here


@dataclass(frozen=True)
class Context:
    settings: Settings
    cards: StripeCheckout
    event_id: str
    event_type: str


def handle_webhook(settings: Settings, cards: StripeCheckout | None, payload: bytes,
                   signature_header: str | None) -> dict[str, Any]:
    """Verify, deduplicate, apply. Raises PackvaultError 400 for an unverifiable request (nothing written)
    and lets infrastructure errors through (a 5xx: Stripe retries)."""
    if cards is None:
        raise PackvaultError(ErrorCode.CARD_PAYMENTS_UNAVAILABLE)
    try:
        event = cards.verify_event(payload, signature_header, int(datetime.now(UTC).timestamp()))
    except WebhookMalformed as exc:
        logger.warning("stripe webhook rejected", extra={"reason": str(exc)})
        raise PackvaultError(ErrorCode.WEBHOOK_PAYLOAD_INVALID, f"A signed body that is not a Stripe event: {exc}.") \
            from None
    except WebhookRejected as exc:
        logger.warning("stripe webhook rejected", extra={"reason": str(exc)})
        raise PackvaultError(ErrorCode.WEBHOOK_SIGNATURE_INVALID, f"Stripe-Signature rejected: {exc}.") from None
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise PackvaultError(ErrorCode.WEBHOOK_PAYLOAD_INVALID)
    if store.get_processed_event(STRIPE, event_id) is not None:
        return {"received": True, "event_id": event_id, "outcome": "duplicate"}
    context.act_as(f"stripe:{event_id}")
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return {"received": True, "event_id": event_id, "outcome": "ignored"}
    outcome = handler(Context(settings, cards, event_id, event_type), event["data"]["object"])
    logger.info("stripe event applied", extra={"event_id": event_id, "event_type": event_type, "outcome": outcome})
    return {"received": True, "event_id": event_id, "outcome": outcome}


# --- checkout.session.* ------------------------------------------------------------------------------


def _session_paid(ctx: Context, session: dict[str, Any]) -> str:
    opening = _opening_of(session)
    if opening is None:
        return _note_unmatched(ctx, session.get("id"), "no opening of ours")
    if not is_paid(session):
        state = "awaiting payment" if opening.status == "QUOTED" else f"already {opening.status.lower()}"
        return _note(ctx, opening, state, {"payment_status": session.get("payment_status")})
    return settle_session(ctx.settings, ctx.cards, opening, session, _marker_factory(ctx, opening))


def _session_released(ctx: Context, session: dict[str, Any]) -> str:
    opening = _opening_of(session)
    if opening is None:
        return _note_unmatched(ctx, session.get("id"), "no opening of ours")
    known_session = (opening.rail_refs or {}).get("checkout_session_id")
    if opening.status != "QUOTED" or known_session not in {None, session.get("id")}:
        return _note(ctx, opening, f"nothing to release ({opening.status.lower()})", {})
    reason = "card payment failed" if ctx.event_type.endswith("failed") else "checkout session expired"
    marker = store.processed_event(STRIPE, ctx.event_id, ctx.event_type, opening.opening_id, "released")
    if store.expire_opening(opening, None, reason, marker):
        return "released"
    return _retry_or_duplicate(ctx)


def settle_session(settings: Settings, cards: StripeCheckout, opening: store.OpeningRecord, session: dict[str, Any],
                   marker: Callable[[str], store.ProcessedEventRecord | None], found_by: str = "webhook") -> str:
    """A paid session for this opening: open it, or record the payment for a refund. Never lost."""
    if opening.status in {"OPENED", "REFUND_DUE", "REFUNDED"}:
        return _noted(marker, opening, f"already {opening.status.lower()}")
    mismatch = session_mismatch(session, opening.opening_id, opening.wallet, int(opening.amount_base_units),
                                (opening.rail_refs or {}).get("checkout_session_id"), settings.stripe_livemode)
    if mismatch is not None and bool(session.get("livemode")) != settings.stripe_livemode:
        logger.warning("stripe session in the wrong mode", extra={"opening_id": opening.opening_id})
        return _noted(marker, opening, f"mismatch: {mismatch}")
    paid = settlement(session, found_by)
    if store.early_refund(STRIPE, paid.payment_id) is not None:
        if opening.status == "QUOTED" and store.expire_opening(opening, None, "payment refunded before it settled",
                                                               marker("released")):
            return "released"
        return _noted(marker, opening, "payment already refunded")
    if mismatch is not None:
        logger.warning("stripe session does not match its quote", extra={"opening_id": opening.opening_id,
                                                                         "mismatch": mismatch})
        return _refund_due(cards, opening, paid, f"mismatch: {mismatch}", marker)
    if opening.status == "EXPIRED":
        if settle_expired(opening, paid, True, settings.honour_late_payments, marker("opened")) is not None:
            return "opened"
        return _refund_if_due(cards, opening.opening_id, paid, "no supply left when the payment arrived")
    try:
        open_paid(opening, paid, None, marker("opened"))
    except PackvaultError as refused:
        if refused.code == ErrorCode.PACK_EXHAUSTED:  # recorded as REFUND_DUE by the open path
            return _refund_if_due(cards, opening.opening_id, paid, "nothing left to draw")
        if refused.code == ErrorCode.BUSY_RETRY:
            raise
        return _noted(marker, opening, f"not opened: {refused.code}")
    return "opened"


def _refund_due(cards: StripeCheckout, opening: store.OpeningRecord, paid: Settlement, reason: str,
                marker: Callable[[str], store.ProcessedEventRecord | None]) -> str:
    if store.mark_refund_due(opening, paid, reason, marker("refund_due")):
        _refund_if_due(cards, opening.opening_id, paid, reason)
        return "refund_due"
    return _noted(marker, opening, "changed meanwhile")


def _refund_if_due(cards: StripeCheckout, opening_id: str, paid: Settlement, reason: str) -> str:
    """Refund only what is recorded as due for this very payment (never an opening someone else opened)."""
    current = store.get_opening(opening_id)
    if current is None or current.status != "REFUND_DUE" or current.payment_id != paid.payment_id:
        return f"not refunded ({current.status.lower() if current else 'missing'})"
    _refund(cards, current, reason, datetime.now(UTC))
    return "refund_due"


def _refund(cards: StripeCheckout, opening: store.OpeningRecord, reason: str, now: datetime) -> bool:
    """Ask Stripe to give the card money back (idempotent per opening). Accepted: REFUND_REQUESTED, and
    charge.refunded closes the opening when the refund lands. Not accepted (Stripe down or refusing): the opening
    stays REFUND_DUE with the failure and the time of the next attempt, for the sweep and for operators."""
    asked = _refund_request(opening)
    attempts, refusals = int(asked.get("attempts", 0)) + 1, int(asked.get("refusals", 0))
    try:
        refund = cards.refund(opening.payment_id, opening.opening_id, refusals)
    except (ProviderUnavailable, ProviderRefused) as exc:
        refusals += isinstance(exc, ProviderRefused)
        wait = min(REFUND_RETRY_FIRST_SECONDS * 2 ** (attempts - 1), REFUND_RETRY_MAX_SECONDS)
        error = str(exc)[:500]
        logger.error("stripe refund not accepted; the opening stays REFUND_DUE and is asked again",
                     extra={"opening_id": opening.opening_id, "error": error})
        store.note_refund_request(
            opening, {"status": "failed", "attempts": attempts, "refusals": refusals, "last_error": error,
                      "next_attempt_at": iso_seconds(now + timedelta(seconds=wait))},
            "REFUND_REQUEST_FAILED", {"rail": STRIPE, "error": error, "attempts": attempts, "reason": reason,
                                      "actor": "packvault"})
        return False
    store.note_refund_request(opening, {"status": "requested", "refund_id": refund.get("id"), "attempts": attempts,
                                        "refusals": refusals},
                              "REFUND_REQUESTED", {"rail": STRIPE, "refund_id": refund.get("id"), "reason": reason,
                                                   "actor": "packvault"})
    return True


def _refund_request(opening: store.OpeningRecord) -> dict[str, Any]:
    return (opening.payment or {}).get("refund_request") or {}


def request_due_refunds(cards: StripeCheckout | None, now: datetime) -> int:
    """The sweep's part: card refunds Stripe has not accepted yet are asked for again once their wait is over.
    Returns how many Stripe accepted in this run."""
    if cards is None:
        return 0
    accepted = 0
    for opening in store.refunds_due():
        request = _refund_request(opening)
        if opening.rail != STRIPE or opening.payment_id is None or request.get("status") == "requested":
            continue
        if request.get("next_attempt_at", "") > iso_seconds(now):
            continue
        accepted += _refund(cards, opening, (opening.payment or {}).get("refund_reason") or "refund due", now)
    return accepted


# --- charge.refunded ---------------------------------------------------------------------------------


def _charge_refunded(ctx: Context, charge: dict[str, Any]) -> str:
    payment_intent = charge_payment_intent(charge)
    if not payment_intent:
        return _note_unmatched(ctx, charge.get("id"), "charge without a PaymentIntent")
    refund = {"rail": STRIPE, "charge_id": charge.get("id"), "payment_intent_id": payment_intent,
              "amount_refunded": str(charge.get("amount_refunded")), "request_id": ctx.event_id}
    full = bool(charge.get("refunded")) or charge.get("amount_refunded") == charge.get("amount")
    claim = store.get_payment_claim(STRIPE, payment_intent)
    if claim is None:
        if not full:
            return _note_unmatched(ctx, payment_intent, "partial refund of an unsettled payment")
        marker = store.processed_event(STRIPE, ctx.event_id, ctx.event_type, None, "refunded before settlement")
        if not store.record_early_refund(STRIPE, payment_intent, marker, refund):
            return _retry_or_duplicate(ctx)
        claim = store.get_payment_claim(STRIPE, payment_intent)  # a settlement that won the race: undo it below
        if claim is None:
            return "refunded before settlement"
        marker = None
    else:
        marker = store.processed_event(STRIPE, ctx.event_id, ctx.event_type, claim.opening_id, "refunded")
    opening = store.get_opening(claim.opening_id)
    if opening is None:
        return _note_unmatched(ctx, payment_intent, "claim without an opening")
    if not full:
        return _note(ctx, opening, "partial refund", refund)
    revoke = store.reverse_topup if opening.product == "credits" else store.revoke_opening
    if opening.status == "OPENED" and revoke(opening, refund, "stripe", marker):
        if products.is_registered(opening.product):
            products.kind(opening.product).refunded(opening, refund)
        return "refunded"
    if opening.status == "REFUND_DUE" and store.mark_refunded(opening, refund, "stripe", marker):
        return "refunded"
    if opening.status in {"OPENED", "REFUND_DUE"}:
        return _retry_or_duplicate(ctx)
    return _note(ctx, opening, f"already {opening.status.lower()}", refund) if marker is not None else "refunded"


# --- the sweep ---------------------------------------------------------------------------------------


def settle_due(settings: Settings, cards: StripeCheckout | None) -> SettleDue:
    """The sweep's handler for card openings: reconcile_due, its outcome counted; Stripe down -> the next run."""

    def settle(opening: store.OpeningRecord, kind: str, now: datetime, report: SweepReport) -> None:
        try:
            outcome = reconcile_due(settings, cards, opening, now)
        except (ProviderUnavailable, PackvaultError) as exc:
            logger.warning("card opening left for the next run", extra={"opening_id": opening.opening_id,
                                                                        "error": str(exc)})
            return
        from packvault.sales.expiry import count_outcome

        count_outcome(outcome, opening, report)

    return settle


def refunds_task(cards: StripeCheckout) -> Callable[[datetime, SweepReport], None]:
    """After the shards: card refunds Stripe has not accepted yet, asked again (request_due_refunds)."""

    def ask(now: datetime, report: SweepReport) -> None:
        report.refunds_requested += request_due_refunds(cards, now)

    return ask


def reconcile_due(settings: Settings, cards: StripeCheckout | None, opening: store.OpeningRecord,
                  now: datetime) -> str:
    """A card opening past its expiry: expire its session at Stripe first (so nobody pays a released quote),
    then settle by what the session says: paid -> open, payment in flight -> look again later, else release."""
    if opening.status != "QUOTED":
        return "skipped"
    session_id = (opening.rail_refs or {}).get("checkout_session_id")
    if session_id is None:  # the session was never recorded, so nobody was given its URL
        return "released" if store.expire_opening(opening, None, "no checkout session was recorded") else "skipped"
    if cards is None:
        logger.error("a card opening is due but Stripe is not configured", extra={"opening_id": opening.opening_id})
        return "skipped"
    session = cards.expire_session(session_id)
    if is_paid(session):
        return settle_session(settings, cards, opening, session, lambda _: None, found_by="expiry sweep")
    if session.get("status") == "complete":  # an async payment method is still settling
        store.postpone_expiry(opening, iso_seconds(now + timedelta(seconds=ASYNC_RECHECK_SECONDS)))
        return "postponed"
    return "released" if store.expire_opening(opening, None, "checkout session expired") else "skipped"


# --- helpers -----------------------------------------------------------------------------------------


def _opening_of(session: dict[str, Any]) -> store.OpeningRecord | None:
    opening_id = session.get("client_reference_id") or (session.get("metadata") or {}).get("opening_id")
    if not isinstance(opening_id, str) or not OPENING_ID.match(opening_id):
        return None
    opening = store.get_opening(opening_id)
    return opening if opening is not None and opening.rail == STRIPE else None


def _marker_factory(ctx: Context, opening: store.OpeningRecord) -> Callable[[str], store.ProcessedEventRecord]:
    return lambda outcome: store.processed_event(STRIPE, ctx.event_id, ctx.event_type, opening.opening_id, outcome)


def _noted(marker: Callable[[str], store.ProcessedEventRecord | None], opening: store.OpeningRecord,
           outcome: str) -> str:
    row = marker(outcome)
    if row is not None and not store.record_processed(row, opening.pk, {"opening_id": opening.opening_id}):
        return "duplicate"
    return outcome


def _note(ctx: Context, opening: store.OpeningRecord, outcome: str, payload: dict[str, Any]) -> str:
    marker = store.processed_event(STRIPE, ctx.event_id, ctx.event_type, opening.opening_id, outcome)
    if not store.record_processed(marker, opening.pk, {**payload, "request_id": ctx.event_id}):
        return "duplicate"
    return outcome


def _note_unmatched(ctx: Context, object_id: Any, why: str) -> str:
    marker = store.processed_event(STRIPE, ctx.event_id, ctx.event_type, None, f"unmatched: {why}")
    store.record_processed(marker, UNMATCHED_PK, {"object_id": str(object_id), "request_id": ctx.event_id})
    logger.warning("stripe event matches no opening", extra={"event_id": ctx.event_id, "why": why})
    return f"unmatched: {why}"


def _retry_or_duplicate(ctx: Context) -> str:
    """A conditional write lost: either this very event was applied meanwhile (a duplicate) or the state moved
    under us; Stripe's retry will see the new state."""
    if store.get_processed_event(STRIPE, ctx.event_id) is not None:
        return "duplicate"
    raise PackvaultError(ErrorCode.BUSY_RETRY)


_HANDLERS: dict[str, Callable[[Context, dict[str, Any]], str]] = {
    "checkout.session.completed": _session_paid,
    "checkout.session.async_payment_succeeded": _session_paid,
    "checkout.session.async_payment_failed": _session_released,
    "checkout.session.expired": _session_released,
    "charge.refunded": _charge_refunded,
}
