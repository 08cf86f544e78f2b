"""A limited pack's supply counters, spread over shards so that a hot drop is not capped by one row.

Shard 0 is the pack row itself: a pack with one shard is exactly a pack as it always was. Shards 1..N-1 are rows
in partitions of their own (`PACKSUPPLY#<pack_id>#<i>` / `SUPPLY`), each carrying a copy of the pack's status and
definition hash, so that a purchase touches one shard row and nothing else of the pack. Each shard keeps
`available + reserved + sold` by itself; the pack's supply is the sum over every shard row it ever had
(`supply_shard_rows`; a pack that shrinks its shard count keeps the rows, drained of available units, because
quotes reserved there return their unit there).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactGetError, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from packvault.store.catalog import (
    PACK_SORT_KEY,
    CounterConflict,
    PackRecord,
    definition_actions,
    pack_loaded_event,
    pack_pk,
    save_chain_link,
)
from packvault.store.table import CANCELLED, EventRecord, Row, TableMeta, connection, register

MAX_SUPPLY_SHARDS = 64  # every shard row is written with the pack in one transaction (100 items at most)
SHARD_SORT_KEY = "SUPPLY"


class SupplyShardRecord(Row):
    """One shard (1..N-1) of a limited pack's supply; shard 0 is the pack row."""

    class Meta(TableMeta):
        pass

    pack_id = UnicodeAttribute()
    shard = NumberAttribute()
    status = UnicodeAttribute()  # copies of the pack's, kept equal in every transaction that changes them
    definition_hash = UnicodeAttribute()
    supply_available = NumberAttribute(default=0)
    supply_reserved = NumberAttribute(default=0)
    supply_sold = NumberAttribute(default=0)
    opened_count = NumberAttribute(default=0)


register(SupplyShardRecord)


@dataclass(frozen=True)
class ShardCounts:
    shard: int
    available: int
    reserved: int
    sold: int
    opened: int
    exists: bool = True


@dataclass(frozen=True)
class SupplyCounts:
    """A limited pack's supply summed over its shards."""

    total: int
    available: int
    reserved: int
    sold: int
    opened: int
    shards: int


def shard_count(pack: PackRecord) -> int:
    """Shards a purchase chooses among."""
    return int(pack.supply_shards or 1)


def shard_rows(pack: PackRecord) -> int:
    """Shard rows the pack has ever had (at least its shard count): where its units may be."""
    return max(int(pack.supply_shard_rows or 1), shard_count(pack))


def is_sharded(pack: PackRecord) -> bool:
    return pack.supply_total is not None and shard_rows(pack) > 1


def shard_pk(pack_id: str, shard: int) -> str:
    return f"PACKSUPPLY#{pack_id}#{shard:02d}"


def _row(pack_id: str, shard: int) -> tuple[Any, Row]:
    if shard == 0:
        return PackRecord, PackRecord(pk=pack_pk(pack_id), sk=PACK_SORT_KEY)
    return SupplyShardRecord, SupplyShardRecord(pk=shard_pk(pack_id, shard), sk=SHARD_SORT_KEY)


def _unchanged(model: Any, definition_hash: str | None, active: bool) -> Any:
    condition = None
    if definition_hash is not None:
        condition = model.definition_hash == definition_hash
    if active:
        condition = (model.status == "ACTIVE") if condition is None else condition & (model.status == "ACTIVE")
    return condition


def _both(first: Any, second: Any) -> Any:
    return first if second is None else first & second


def reserve_unit(transaction: TransactWrite, pack_id: str, shard: int, definition_hash: str | None = None,
                 active: bool = False, units: int = 1) -> None:
    """`units` of `shard` reserved for a quote, only while the shard has them all (and the pack is unchanged)."""
    model, row = _row(pack_id, shard)
    transaction.update(row, actions=[model.supply_available.add(-units), model.supply_reserved.add(units)],
                       condition=_both(model.supply_available >= units, _unchanged(model, definition_hash, active)))


def sell_reserved_unit(transaction: TransactWrite, pack_id: str, shard: int, definition_hash: str | None,
                       units: int = 1) -> None:
    """A quote's reserved units sold (its openings opened)."""
    model, row = _row(pack_id, shard)
    transaction.update(row, actions=[model.supply_reserved.add(-units), model.supply_sold.add(units),
                                     model.opened_count.add(units)],
                       condition=_both(model.supply_reserved >= units, _unchanged(model, definition_hash, False)))


def sell_unit(transaction: TransactWrite, pack_id: str, shard: int, definition_hash: str, units: int = 1) -> None:
    """Units sold at once (paid from the balance), only while the shard has them and the pack is unchanged."""
    model, row = _row(pack_id, shard)
    transaction.update(row, actions=[model.supply_available.add(-units), model.supply_sold.add(units),
                                     model.opened_count.add(units)],
                       condition=_both(model.supply_available >= units, _unchanged(model, definition_hash, True)))


def return_unit(transaction: TransactWrite, pack_id: str, shard: int, units: int = 1) -> None:
    """A quote's reserved units back to the shard they came from."""
    model, row = _row(pack_id, shard)
    transaction.update(row, actions=[model.supply_reserved.add(-units), model.supply_available.add(units)],
                       condition=model.supply_reserved >= units)


class SnapshotBusy(RuntimeError):
    """Transactions kept committing on the shards while they were read: no snapshot (the caller retries later)."""


SNAPSHOT_ATTEMPTS = 3


def snapshot(pack_id: str, rows: int) -> tuple[PackRecord, list[ShardCounts]]:
    """The pack row and every shard as of one instant (TransactGetItems is serializable): sold out is decided
    from this, never from one shard. A read that meets a committing transaction is cancelled by DynamoDB; after
    a few tries, SnapshotBusy."""
    for attempt in range(SNAPSHOT_ATTEMPTS):
        try:
            with TransactGet(connection=connection()) as transaction:
                futures = [transaction.get(*_model_and_key(pack_id, shard)) for shard in range(rows)]
            break
        except TransactGetError as exc:
            if exc.cause_response_code not in CANCELLED:
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    else:
        raise SnapshotBusy(pack_id)
    found = [_resolved(future) for future in futures]
    pack = found[0]
    if pack is None:
        raise PackRecord.DoesNotExist()
    return pack, [_counts(shard, row) for shard, row in enumerate(found)]


def _model_and_key(pack_id: str, shard: int) -> tuple[Any, str, str]:
    model, row = _row(pack_id, shard)
    return model, row.pk, row.sk


def _resolved(future: Any) -> Any:
    try:
        return future.get()
    except (PackRecord.DoesNotExist, SupplyShardRecord.DoesNotExist):  # a shard row not written yet
        return None


def _counts(shard: int, row: Any) -> ShardCounts:
    if row is None:
        return ShardCounts(shard, 0, 0, 0, 0, exists=False)
    return ShardCounts(shard, int(row.supply_available or 0), int(row.supply_reserved or 0),
                       int(row.supply_sold or 0), int(row.opened_count or 0))


def supply_counts(pack: PackRecord) -> SupplyCounts | None:
    """A limited pack's supply summed over its shards (None: unlimited). One read more only for a sharded pack."""
    if pack.supply_total is None:
        return None
    shards = [_counts(0, pack)]
    if is_sharded(pack):
        keys = [(shard_pk(pack.pack_id, shard), SHARD_SORT_KEY) for shard in range(1, shard_rows(pack))]
        shards += [_counts(int(row.shard), row) for row in SupplyShardRecord.batch_get(keys)]
    return summed(pack, shards)


def summed(pack: PackRecord, shards: Iterable[ShardCounts]) -> SupplyCounts:
    rows = list(shards)
    return SupplyCounts(total=int(pack.supply_total), available=sum(s.available for s in rows),
                        reserved=sum(s.reserved for s in rows), sold=sum(s.sold for s in rows),
                        opened=sum(s.opened for s in rows), shards=shard_count(pack))


def spread(units: int, shards: int) -> list[int]:
    """`units` over `shards` as evenly as integers allow (the first ones get the remainder)."""
    base, extra = divmod(units, shards)
    return [base + (1 if shard < extra else 0) for shard in range(shards)]


def write_shard_rows(transaction: TransactWrite, pack: PackRecord, current: list[ShardCounts],
                     targets: list[int]) -> None:
    """Shards 1.. set to their target available units, with the pack's status and definition hash; each
    existing shard only if its available count is still what was read (a purchase in between cancels the
    whole change, which is then computed again)."""
    for shard in range(1, len(targets)):
        if shard < len(current) and current[shard].exists:
            row = SupplyShardRecord(pk=shard_pk(pack.pack_id, shard), sk=SHARD_SORT_KEY)
            transaction.update(row, actions=[SupplyShardRecord.supply_available.set(targets[shard]),
                                             SupplyShardRecord.status.set(pack.status),
                                             SupplyShardRecord.definition_hash.set(pack.definition_hash)],
                               condition=SupplyShardRecord.supply_available == current[shard].available)
        else:
            row = SupplyShardRecord(pk=shard_pk(pack.pack_id, shard), sk=SHARD_SORT_KEY, pack_id=pack.pack_id,
                                    shard=shard, status=pack.status, definition_hash=pack.definition_hash,
                                    supply_available=targets[shard], supply_reserved=0, supply_sold=0,
                                    opened_count=0)
            transaction.save(row, condition=SupplyShardRecord.pk.does_not_exist())


WRITE_ATTEMPTS = 5


def put_sharded_pack(pack: PackRecord, existing: PackRecord | None, chain_link: dict[str, Any] | None,
                     changed: dict[str, Any] | None = None) -> None:
    """Create or update a pack whose supply is (or was) sharded, in one transaction with every shard row: the
    units still available (plus the change of total) spread evenly over the new shard count, reserved and sold
    units left where they are, so nothing is lost or invented. Computed from a snapshot and written only if no
    shard moved since; a purchase in between makes it read and compute again."""
    event = pack_loaded_event(pack, int(pack.supply_total) if pack.supply_total is not None else None, changed)
    for _ in range(WRITE_ATTEMPTS):
        fresh, current = snapshot(pack.pack_id, shard_rows(existing)) if existing is not None else (None, [])
        targets = _targets(pack, existing, current)
        try:
            with TransactWrite(connection=connection()) as transaction:
                save_chain_link(transaction, pack, chain_link)
                _write_pack_row(transaction, pack, existing, fresh, targets, chain_link)
                write_shard_rows(transaction, pack, current, targets)
                transaction.save(event, condition=EventRecord.pk.does_not_exist())
            return
        except TransactWriteError:
            continue
    raise CounterConflict(f"pack {pack.pack_id}: its supply shards kept changing, or the pack changed while "
                          "loading")


def _targets(pack: PackRecord, existing: PackRecord | None, current: list[ShardCounts]) -> list[int]:
    shards = shard_count(pack)
    rows = max(len(current), shards)
    if pack.supply_total is None:
        return [0] * rows
    old_total = existing.supply_total if existing is not None else None
    if old_total is None:  # limited from now on: what is not already reserved or sold
        units = int(pack.supply_total) - sum(s.reserved + s.sold for s in current)
    else:
        units = sum(s.available for s in current) + int(pack.supply_total) - int(old_total)
    if units < 0:
        raise CounterConflict(f"pack {pack.pack_id}: supply cannot go from {old_total} to {pack.supply_total} "
                              "(packs already reserved or sold)")
    return spread(units, shards) + [0] * (rows - shards)


def _write_pack_row(transaction: TransactWrite, pack: PackRecord, existing: PackRecord | None,
                    fresh: PackRecord | None, targets: list[int], chain_link: dict[str, Any] | None) -> None:
    limited = pack.supply_total is not None
    pack.supply_shard_rows = len(targets)
    if existing is None:
        pack.supply_available = targets[0] if limited else None
        transaction.save(pack, condition=PackRecord.pk.does_not_exist())
        return
    actions = [*definition_actions(pack, chain_link),
               PackRecord.supply_total.set(pack.supply_total) if limited else PackRecord.supply_total.remove(),
               PackRecord.supply_available.set(targets[0]) if limited else PackRecord.supply_available.remove(),
               PackRecord.supply_shards.set(shard_count(pack)), PackRecord.supply_shard_rows.set(len(targets))]
    was = fresh.supply_available if fresh is not None else None
    unmoved = PackRecord.supply_available.does_not_exist() if was is None else PackRecord.supply_available == was
    transaction.update(pack, actions=actions, condition=(PackRecord.definition_hash == existing.definition_hash)
                       & unmoved)
