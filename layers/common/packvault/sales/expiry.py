"""Expiry and reconciliation: release unpaid reservations on time, and never lose a payment.

Each run walks the ExpiryIndex shard by shard and hands each due opening to its rail (a `SettleDue` the caller
registers per rail: packvault.edge.sweeping), which looks for the payment where that rail proves it (on chain, at
Stripe, at the buyer's Open Payments wallet): paid in time -> opened through the one open path; paid late ->
REFUND_DUE; unpaid -> EXPIRED with its unit released, in one conditional transaction. The sweep itself names no
rail and no product. Reruns and overlapping runs are harmless: every change is conditional on the status it
starts from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.chain.rpc import SolanaRpc
from packvault.core import context
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.times import iso_seconds
from packvault.fairness import anchoring, records

SAFETY_MILLIS = 5_000


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
    odds_drift: int = 0  # packs whose realized tier odds drifted from the published ones (pull_stats), this run
    complete: bool = True

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


# (opening, kind: store.QUOTED_SHARD or store.WATCH_SHARD, now, report): what a rail does for its due opening
SettleDue = Callable[[store.OpeningRecord, str, datetime, SweepReport], None]
# (expiry shard, now, report): a product's own due work in that shard
ShardTask = Callable[[int, datetime, SweepReport], None]
# (now, report): a rail's own work once the shards are done
AfterTask = Callable[[datetime, SweepReport], None]


def sweep(settings: Settings, rails: dict[str, SettleDue], per_shard: Sequence[ShardTask] = (),
          after: Sequence[AfterTask] = (), millis_left: Callable[[], int] = lambda: 10**9,
          now: datetime | None = None, rpc: SolanaRpc | None = None, anchor_key: Any | None = None) -> SweepReport:
    """One run over every shard. Each due opening goes to its rail's `SettleDue`; each shard then to every
    `per_shard` task (a product's own due work, e.g. orders to send again); then every `after` task (a rail's
    own, e.g. refunds to ask for again); then the public record's hours are sealed and anchored. Stops cleanly
    (complete=False) when the Lambda is about to time out."""
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
                    _settle(rails, opening_id, kind, now, report)
                if len(due) < settings.sweep_batch_size:
                    break
        for task in per_shard:
            task(shard, now, report)
    for finish in after:
        finish(now, report)
    report.periods_sealed = records.seal_due(now, lambda pack_id, fit: _odds_drift(pack_id, fit, report))
    report.periods_anchored = anchoring.anchor_due(rpc, anchor_key)
    return report


def _settle(rails: dict[str, SettleDue], opening_id: str, kind: str, now: datetime, report: SweepReport) -> None:
    opening = store.get_opening(opening_id)
    if opening is None:
        return
    settle_due = rails.get(opening.rail)
    if settle_due is None:
        logger.error("a due opening's rail has no sweep here", extra={"opening_id": opening_id,
                                                                       "rail": opening.rail})
        return
    settle_due(opening, kind, now, report)


def _odds_drift(pack_id: str, fit: dict[str, Any], report: SweepReport) -> None:
    report.odds_drift += 1
    logger.warning("a pack's realized odds drift from its published odds", extra={
        "pack_id": pack_id, "odds_version": fit["odds_version"], "chi_square": fit["chi_square"]})


def count_outcome(outcome: str, opening: store.OpeningRecord, report: SweepReport) -> None:
    """A rail's outcome for one due opening, counted: released, opened, refund_due (anything else: nothing)."""
    if outcome == "released":
        report.expired += 1
        report.released_units += 1 if opening.limited_supply else 0
    elif outcome == "opened":
        report.opened += 1
    elif outcome == "refund_due":
        report.refunds_due += 1
