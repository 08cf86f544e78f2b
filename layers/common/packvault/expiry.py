"""Expiry and reconciliation: release unpaid reservations on time, and never lose a payment.

Each run walks the ExpiryIndex shard by shard. A quote whose expiry (plus grace) has passed is first
checked on chain (getSignaturesForAddress on its reference, then the same verifier as confirm; a card or Open
Payments opening at its provider: card_settlement, open_payments_checkout): paid in
time -> opened through confirm's open path; paid late -> REFUND_DUE; unpaid -> EXPIRED with its unit
released, in one conditional transaction. Expired openings stay watched for late payments for a window,
checked with a doubling interval. Reruns and overlapping runs are harmless: every change is conditional
on the status it starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from packvault import anchoring, confirm, context, records, store
from packvault.errors import PackvaultError
from packvault.fulfilment import resend_due
from packvault.log import logger
from packvault.payments import OPEN_PAYMENTS, STRIPE
from packvault.payments.solana import Verdict, verify_payment
from packvault.payments.solana_rpc import RpcError, RpcUnavailable, SolanaRpc
from packvault.settings import Settings
from packvault.settle import open_paid, settle_expired
from packvault.times import iso_seconds

if TYPE_CHECKING:
    from packvault.open_payments_checkout import OpenPaymentsRail
    from packvault.payments.stripe_checkout import StripeCheckout

SAFETY_MILLIS = 5_000
FIRST_WATCH_INTERVAL = 60
MAX_WATCH_INTERVAL = 3600


@dataclass
class SweepReport:
    expired: int = 0
    released_units: int = 0
    opened: int = 0
    late_payments: int = 0
    refunds_due: int = 0
    stopped_watching: int = 0
    checked: int = 0
    orders_resent: int = 0
    refunds_requested: int = 0
    periods_sealed: int = 0
    periods_anchored: int = 0
    complete: bool = True

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def sweep(settings: Settings, rpc: SolanaRpc | None, millis_left: Callable[[], int] = lambda: 10**9,
          now: datetime | None = None, cards: StripeCheckout | None = None,
          wallets: OpenPaymentsRail | None = None, anchor_key: Any | None = None) -> SweepReport:
    """One run over every shard. Stops cleanly (complete=False) when the Lambda is about to time out."""
    now = now or datetime.now(UTC)
    context.begin("system:sweep", context.request_id() or f"sweep-{iso_seconds(now)}")
    report = SweepReport()
    quoted_cutoff = iso_seconds(now - timedelta(seconds=settings.expiry_grace_seconds))
    for shard in range(settings.expiry_shards):
        for kind, cutoff in ((store.QUOTED_SHARD, quoted_cutoff), (store.WATCH_SHARD, iso_seconds(now))):
            while True:
                due = store.due_openings(store.expiry_shard_key(kind, shard), cutoff, settings.sweep_batch_size)
                for opening_id in due:
                    if millis_left() < SAFETY_MILLIS:
                        report.complete = False
                        return report
                    report.checked += 1
                    _settle(settings, Rails(rpc, cards, wallets), opening_id, kind, now, report)
                if len(due) < settings.sweep_batch_size:
                    break
        report.orders_resent += resend_due(settings, store.expiry_shard_key(store.FULFILMENT_SHARD, shard), now,
                                           settings.sweep_batch_size)
    if cards is not None:
        from packvault.card_settlement import request_due_refunds

        report.refunds_requested = request_due_refunds(cards, now)
    report.periods_sealed = records.seal_due(now)
    report.periods_anchored = anchoring.anchor_due(rpc, anchor_key)
    return report


@dataclass(frozen=True)
class Rails:
    rpc: SolanaRpc | None
    cards: StripeCheckout | None
    wallets: OpenPaymentsRail | None


def _settle(settings: Settings, rails: Rails, opening_id: str, kind: str, now: datetime,
            report: SweepReport) -> None:
    opening = store.get_opening(opening_id)
    if opening is None:
        return
    if opening.rail == STRIPE:
        _settle_card(settings, rails.cards, opening, now, report)
        return
    if opening.rail == OPEN_PAYMENTS:
        _settle_open_payments(rails.wallets, opening, report)
        return
    try:
        found = _find_payment(settings, rails.rpc, opening)
    except (RpcUnavailable, RpcError) as exc:
        logger.warning("payment lookup failed; opening left for the next run",
                       extra={"opening_id": opening_id, "error": str(exc)})
        return
    if kind == store.QUOTED_SHARD:
        _settle_quote(settings, opening, found, now, report)
    else:
        _settle_watched(settings, opening, found, now, report)


def _settle_card(settings: Settings, cards: StripeCheckout | None, opening: store.OpeningRecord, now: datetime,
                 report: SweepReport) -> None:
    from packvault import card_settlement
    from packvault.payments.stripe_checkout import ProviderUnavailable

    try:
        outcome = card_settlement.reconcile_due(settings, cards, opening, now)
    except (ProviderUnavailable, PackvaultError) as exc:
        logger.warning("card opening left for the next run", extra={"opening_id": opening.opening_id,
                                                                    "error": str(exc)})
        return
    _count(outcome, opening, report)


def _settle_open_payments(wallets: OpenPaymentsRail | None, opening: store.OpeningRecord,
                          report: SweepReport) -> None:
    from packvault import open_payments_checkout

    try:
        outcome = open_payments_checkout.reconcile_due(wallets, opening)
    except PackvaultError as exc:
        logger.warning("open payments opening left for the next run", extra={"opening_id": opening.opening_id,
                                                                             "error": str(exc)})
        return
    _count(outcome, opening, report)


def _count(outcome: str, opening: store.OpeningRecord, report: SweepReport) -> None:
    if outcome == "released":
        report.expired += 1
        report.released_units += 1 if opening.limited_supply else 0
    elif outcome == "opened":
        report.opened += 1
    elif outcome == "refund_due":
        report.refunds_due += 1


def _settle_quote(settings: Settings, opening: store.OpeningRecord, found: tuple[str, Verdict] | None,
                  now: datetime, report: SweepReport) -> None:
    if opening.status != "QUOTED":
        return
    if found is not None:
        signature, verdict = found
        settlement = confirm.solana_settlement(signature, verdict, confirm.payment_terms(settings, opening),
                                               found_by="expiry sweep")
        if verdict.status == "valid":
            try:
                open_paid(opening, settlement)
                report.opened += 1
            except PackvaultError as refused:
                logger.warning("paid opening could not be opened", extra={"opening_id": opening.opening_id,
                                                                          "error_code": str(refused.code)})
            return
        report.late_payments += 1
        if store.mark_refund_due(opening, settlement, "paid after the quote expired"):
            report.refunds_due += 1
        return
    watch_until = now + timedelta(hours=settings.late_payment_watch_hours)
    shard = store.expiry_shard_key(store.WATCH_SHARD, int(opening.expiry_shard[1:]))
    first_check = iso_seconds(now + timedelta(seconds=FIRST_WATCH_INTERVAL))
    if store.expire_opening(opening, (shard, first_check, iso_seconds(watch_until), FIRST_WATCH_INTERVAL)):
        report.expired += 1
        report.released_units += 1 if opening.limited_supply else 0


def _settle_watched(settings: Settings, opening: store.OpeningRecord, found: tuple[str, Verdict] | None,
                    now: datetime, report: SweepReport) -> None:
    if opening.status != "EXPIRED":
        store.reschedule_watch(opening, None, 0)
        return
    if found is not None:
        signature, verdict = found
        report.late_payments += 1
        settlement = confirm.solana_settlement(signature, verdict, confirm.payment_terms(settings, opening),
                                               found_by="late payment watch")
        try:
            if settle_expired(opening, settlement, verdict.status == "valid", settings.honour_late_payments) is None:
                report.refunds_due += 1
            else:
                report.opened += 1
        except PackvaultError as refused:
            logger.warning("late payment could not be settled", extra={"opening_id": opening.opening_id,
                                                                       "error_code": str(refused.code)})
        return
    if opening.watch_until and iso_seconds(now) >= opening.watch_until:
        store.reschedule_watch(opening, None, 0)
        report.stopped_watching += 1
        return
    interval = min(int(opening.watch_interval_seconds or FIRST_WATCH_INTERVAL) * 2, MAX_WATCH_INTERVAL)
    store.reschedule_watch(opening, iso_seconds(now + timedelta(seconds=interval)), interval)


def _find_payment(settings: Settings, rpc: SolanaRpc | None, opening: store.OpeningRecord
                  ) -> tuple[str, Verdict] | None:
    """The first transaction carrying the quote's reference that pays it (in time or late)."""
    if rpc is None:
        return None
    terms = confirm.payment_terms(settings, opening)
    for entry in reversed(rpc.get_signatures_for_address(opening.reference, 20, settings.solana_commitment) or []):
        if entry.get("err") is not None:
            continue
        result = rpc.get_transaction(entry["signature"], settings.solana_commitment,
                                     settings.solana_max_transaction_version)
        verdict = verify_payment(result, terms)
        if verdict.status in {"valid", "late"}:
            return entry["signature"], verdict
    return None

