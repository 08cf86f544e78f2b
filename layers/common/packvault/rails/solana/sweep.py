"""The Solana rail's part of the sweep: a due quote's payment looked for on chain (getSignaturesForAddress on its
reference, then the same verifier as confirm): paid in time -> opened through the one open path; paid late ->
REFUND_DUE; unpaid -> EXPIRED with its unit released. Expired quotes stay watched for late payments for a window,
checked with a doubling interval."""

from __future__ import annotations

from datetime import datetime, timedelta

from packvault import store
from packvault.chain.rpc import RpcError, RpcUnavailable, SolanaRpc
from packvault.chain.transactions import Verdict, verify_payment
from packvault.core.errors import PackvaultError
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.times import iso_seconds
from packvault.rails.solana import confirm
from packvault.sales.expiry import SettleDue, SweepReport
from packvault.sales.settle import open_paid, settle_expired

FIRST_WATCH_INTERVAL = 60
MAX_WATCH_INTERVAL = 3600


def settle_due(settings: Settings, rpc: SolanaRpc | None) -> SettleDue:
    """The sweep's handler for Solana openings (a quote due, or an expired one watched for a late payment)."""

    def settle(opening: store.OpeningRecord, kind: str, now: datetime, report: SweepReport) -> None:
        try:
            found = _find_payment(settings, rpc, opening)
        except (RpcUnavailable, RpcError) as exc:
            logger.warning("payment lookup failed; opening left for the next run",
                           extra={"opening_id": opening.opening_id, "error": str(exc)})
            return
        if kind == store.QUOTED_SHARD:
            _settle_quote(settings, opening, found, now, report)
        else:
            _settle_watched(settings, opening, found, now, report)

    return settle


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

