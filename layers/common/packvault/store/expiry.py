"""The expiry index: quotes due, openings watched for late payments, releases and re-reservations."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.store import supply
from packvault.store.catalog import count_commitments
from packvault.store.openings import (
    OpeningRecord,
    release_reservation,
    supply_shard,
    units_of,
)
from packvault.store.payments import (
    ProcessedEventRecord,
    mark_processed,
)
from packvault.store.records import ending_record
from packvault.store.table import (
    EventRecord,
    connection,
    is_condition_failure,
    new_event,
    utc_now_iso,
)
from packvault.store.wallets import (
    WalletPackCountRecord,
    count_quote,
    wallet_pk,
)


def postpone_expiry(opening: OpeningRecord, next_check: str) -> None:
    """A QUOTED opening whose payment is still in flight (an async card payment): look again later."""
    try:
        opening.update(actions=[OpeningRecord.expires_at.set(next_check)], condition=OpeningRecord.status == "QUOTED")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


QUOTED_SHARD = "Q"


WATCH_SHARD = "W"


def expiry_shard_key(kind: str, shard: int) -> str:
    return f"{kind}{shard:03d}"


def due_openings(shard_key: str, up_to: str, limit: int) -> list[str]:
    """Opening ids in one expiry shard whose key time is at or before `up_to` (oldest first)."""
    rows = OpeningRecord.by_expiry.query(shard_key, OpeningRecord.expires_at <= up_to, limit=limit,
                                         page_size=limit)
    return [row.pk.removeprefix("OPENING#") for row in rows]


def expire_opening(opening: OpeningRecord, watch: tuple[str, str, str, int] | None, reason: str = "quote expired",
                   marker: ProcessedEventRecord | None = None) -> bool:
    """QUOTED -> EXPIRED, its unit released exactly once. With `watch` (shard, next check, watch until,
    interval) it moves to the watch shard for late payments; without, it leaves the expiry index."""
    now = utc_now_iso()
    event = new_event(opening.pk, "EXPIRED", {"released_unit": bool(opening.limited_supply), "reason": reason})
    if watch is not None:
        watch_shard, next_check, watch_until, interval_seconds = watch
        placement = [OpeningRecord.expiry_shard.set(watch_shard), OpeningRecord.expires_at.set(next_check),
                     OpeningRecord.watch_until.set(watch_until),
                     OpeningRecord.watch_interval_seconds.set(interval_seconds)]
    else:
        placement = [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()]
    ended = ending_record(opening, "expired", reason, None, now)  # on the public record (FAIRNESS.md 13.11)
    if ended is not None:
        placement.append(OpeningRecord.endings.set([*(opening.endings or []), ended[0]]))
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("EXPIRED"), OpeningRecord.updated_at.set(now), *placement,
            ], condition=OpeningRecord.status == "QUOTED")
            if ended is not None:
                transaction.save(ended[1])
            release_reservation(transaction, opening)
            mark_processed(transaction, marker)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    return True


def reschedule_watch(opening: OpeningRecord, next_check: str | None, interval_seconds: int) -> None:
    """Next look for a late payment (None: the watch window is over; the opening leaves the index)."""
    actions = ([OpeningRecord.expires_at.set(next_check), OpeningRecord.watch_interval_seconds.set(interval_seconds)]
               if next_check else [OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove()])
    try:
        opening.update(actions=actions, condition=OpeningRecord.status == "EXPIRED")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def re_reserve(opening: OpeningRecord, shard: int | None = None) -> bool:
    """EXPIRED -> QUOTED again for a payment made in time, if the pack still has a unit (in `shard`, by default
    the one it was reserved in before). False otherwise."""
    shard = supply_shard(opening) if shard is None else shard
    now = utc_now_iso()
    event = new_event(opening.pk, "RE_RESERVED", {"reason": "payment made before expiry"})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(opening, actions=[
                OpeningRecord.status.set("QUOTED"), OpeningRecord.updated_at.set(now),
                OpeningRecord.expiry_shard.remove(), OpeningRecord.expires_at.remove(),
            ] + ([OpeningRecord.supply_shard.set(shard)] if opening.limited_supply else []),
                condition=OpeningRecord.status == "EXPIRED")
            if opening.limited_supply:
                supply.reserve_unit(transaction, opening.pack_id, shard, units=units_of(opening))
            if opening.mint_limited:
                counter = WalletPackCountRecord(pk=wallet_pk(opening.wallet), sk=f"PACKCOUNT#{opening.pack_id}")
                transaction.update(counter, actions=[WalletPackCountRecord.count.add(units_of(opening))])
            count_quote(transaction, opening.wallet, units_of(opening))  # QUOTED again: counted until it opens
            if opening.commitment_counted:  # a paid quote is never refused for a catalog load's lock
                count_commitments(transaction, opening.pack_id, units_of(opening), mind_lock=False)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError:
        return False
    opening.status = "QUOTED"
    if opening.limited_supply:
        opening.supply_shard = shard
    return True
