"""The public record of openings (fairness v2): a leaf per opened pack, written in its open transaction, and
per hour a sealed Merkle root over that hour's leaves. Leaves are spread over RECORD_SHARDS partitions so a hot
drop has no single hot key; a sealed hour is immutable.

Sealing also counts each pack's openings of that hour into its stats row (PACKSTATS#<pack>), exactly once: the
counts are written in the seal's own transaction (the first PACKS_PER_TRANSACTION packs) and, for an hour with
more packs, in earlier transactions each guarded by a marker row of its own, so a sweep that dies half-way
counts nothing twice when it seals the hour again. Opening counts therefore cost the open path nothing.
With the count go the hour's pull statistics (fairness/pull_stats.py): a row per pack and hour, and the pack's
all-time summary, replaced only if it is still the one the sweep merged into (its `through`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.store.table import CANCELLED, Row, TableMeta, connection, register, utc_now_iso

RECORD_SHARDS = 16
SEALS_PK = "RECORD_SEALS"


class RecordLeafRecord(Row):
    class Meta(TableMeta):
        pass

    leaf = UnicodeAttribute()  # hex sha256, FAIRNESS.md section 9
    opening_id = UnicodeAttribute()
    pack_id = UnicodeAttribute(null=True)  # for the per-pack counts at sealing (leaves before 2026-12-04 lack it)
    draws = UnicodeAttribute(null=True)  # the opening's draws for the pull statistics (pull_stats.leaf_draws)
    ended = UnicodeAttribute(null=True)  # a quote that ended without opening: "expired" or "refund_due" (13.11)


class PackStatsRecord(Row):
    """A pack's openings counted from sealed hours: `opened` through the hour `through`."""

    class Meta(TableMeta):
        pass

    opened = NumberAttribute(default=0)
    through = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(null=True)  # JSON: the pull statistics (pull_stats); on the hour rows that hour's


PACK_STATS_SORT_KEY = "STATS"
HOUR_PREFIX = "HOUR#"
PACKS_PER_TRANSACTION = 49  # two rows each (the pack's summary, its hour), with the seal or a chunk's marker


@dataclass(frozen=True)
class HourCounts:
    """One pack's part of a sealed hour: its openings, that hour's statistics, and its all-time statistics with
    this hour merged in, written only over the summary sealed `through` the hour it was merged into."""

    opened: int
    hour_summary: str | None = None
    merged_summary: str | None = None
    merged_into: str | None = None  # the `through` of the summary merged into (None: it had none)


class RecordSealRecord(Row):
    class Meta(TableMeta):
        pass

    root = UnicodeAttribute()
    count = NumberAttribute()
    sealed_at = UnicodeAttribute()
    anchor_signature = UnicodeAttribute(null=True)  # the Solana memo transaction carrying the root (anchoring.py)
    anchored_at = UnicodeAttribute(null=True)
    # Chained seals (FAIRNESS.md 13.7): the hour sealed before this one, its chain hash, and this hour's.
    prev_period = UnicodeAttribute(null=True)
    prev = UnicodeAttribute(null=True)
    chain = UnicodeAttribute(null=True)
    quote_key = UnicodeAttribute(null=True)  # the quote-signing key in force when it was sealed
    tree = NumberAttribute(null=True)  # the Merkle tree its root was computed with (None: tree 1; FAIRNESS.md 13.12)
    stock_heads = JSONAttribute(null=True)  # every pack's stock chain head when it was sealed (13.10)


class RecordHeadRecord(Row):
    """The last hour sealed into the chain: a seal is written only on top of it, so hours are sealed in order, each
    exactly once, and no two seals name the same previous hour."""

    class Meta(TableMeta):
        pass

    period = UnicodeAttribute()
    chain = UnicodeAttribute()


RECORD_HEAD_PK, RECORD_HEAD_SK = "RECORD_HEAD", "HEAD"


@dataclass(frozen=True)
class SealLink:
    """Where a seal joins the chain: the previous chained hour (None: the chain starts here) and its chain hash."""

    prev_period: str | None
    prev: str
    chain: str
    quote_key: str | None = None
    tree: int | None = None
    stock_heads: dict[str, Any] | None = None


def record_head() -> RecordHeadRecord | None:
    try:
        return RecordHeadRecord.get(RECORD_HEAD_PK, RECORD_HEAD_SK, consistent_read=True)
    except RecordHeadRecord.DoesNotExist:
        return None


def period_of(opened_at: str) -> str:
    """The hour an opening belongs to: '2026-11-24T09'."""
    return opened_at[:13]


def leaf_row(opening_id: str, opened_at: str, leaf: str, pack_id: str | None = None,
             draws: str | None = None, ended: str | None = None) -> RecordLeafRecord:
    shard = int(hashlib.sha256(opening_id.encode()).hexdigest(), 16) % RECORD_SHARDS
    return RecordLeafRecord(pk=f"RECORD#{period_of(opened_at)}#{shard:02d}", sk=f"{opened_at}#{opening_id}",
                            leaf=leaf, opening_id=opening_id, pack_id=pack_id, draws=draws, ended=ended)


EndingRecorder = Callable[[Any, str, str, "dict[str, Any] | None", str], "tuple[dict[str, Any], Row] | None"]
_ENDING_RECORDERS: list[EndingRecorder] = []


def on_ending(recorder: EndingRecorder) -> None:
    """Where the domain says how a quote that ends without opening is put on the public record (FAIRNESS.md 13.11):
    `recorder(opening, outcome, reason, payment, at)` answers (the ending document, its leaf row) or None. The store
    writes them in the ending's own transaction; it cannot build them itself (that needs the draw rule)."""
    _ENDING_RECORDERS[:] = [recorder]


def ending_record(opening: Any, outcome: str, reason: str, payment: dict[str, Any] | None,
                  at: str) -> tuple[dict[str, Any], Row] | None:
    if not _ENDING_RECORDERS:
        raise RuntimeError("no ending recorder is registered: import packvault.sales.settle first")
    return _ENDING_RECORDERS[0](opening, outcome, reason, payment, at)


def period_leaves(period: str) -> list[RecordLeafRecord]:
    """Every leaf of the hour, in (opened_at, opening_id) order."""
    rows = [row for shard in range(RECORD_SHARDS)
            for row in RecordLeafRecord.query(f"RECORD#{period}#{shard:02d}", consistent_read=True)]
    return sorted(rows, key=lambda row: row.sk)


def get_seal(period: str) -> RecordSealRecord | None:
    try:
        return RecordSealRecord.get(SEALS_PK, period, consistent_read=True)
    except RecordSealRecord.DoesNotExist:
        return None


def put_seal(period: str, root: str, count: int, pack_counts: dict[str, HourCounts] | None = None,
             link: SealLink | None = None) -> bool:
    """Sealed once, with each pack's openings and statistics of the hour added to its stats (and, with `link`, on
    top of the chain's head, which moves to it); False when it already was, the head moved, or a concurrent sweep
    changed a summary meanwhile (the next sweep seals it)."""
    packs = sorted((pack_counts or {}).items())
    chunks = [packs[n:n + PACKS_PER_TRANSACTION] for n in range(0, len(packs), PACKS_PER_TRANSACTION)] or [[]]
    for number, chunk in enumerate(chunks[1:], start=1):  # an hour with many packs: counted before the seal
        marker = RecordSealRecord(pk=f"SEALCOUNT#{period}", sk=str(number), root="", count=len(chunk),
                                  sealed_at=utc_now_iso())
        if not _write_counts(period, chunk, marker) and not _exists(marker):
            raise SealInterrupted(f"{period}: counts of chunk {number} not written; the next sweep seals it")
    seal = RecordSealRecord(pk=SEALS_PK, sk=period, root=root, count=count, sealed_at=utc_now_iso())
    if link is not None:
        seal.prev_period, seal.prev, seal.chain = link.prev_period, link.prev, link.chain
        seal.quote_key, seal.tree, seal.stock_heads = link.quote_key, link.tree, link.stock_heads
    return _write_counts(period, chunks[0], seal, link)


def _write_counts(period: str, counts: list[tuple[str, HourCounts]], guard: RecordSealRecord,
                  link: SealLink | None = None) -> bool:
    """The guard row (the seal, or a chunk's marker) put once, with these packs' counts, in one transaction."""
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(guard, condition=RecordSealRecord.pk.does_not_exist())
            if link is not None:  # on top of the head it was computed from, and the head moves to it
                head = RecordHeadRecord(pk=RECORD_HEAD_PK, sk=RECORD_HEAD_SK, period=period, chain=link.chain)
                transaction.save(head, condition=RecordHeadRecord.pk.does_not_exist() if link.prev_period is None
                                 else RecordHeadRecord.period == link.prev_period)
            for pack_id, hour in counts:
                row = PackStatsRecord(pk=pack_stats_pk(pack_id), sk=PACK_STATS_SORT_KEY)
                actions = [PackStatsRecord.opened.add(hour.opened), PackStatsRecord.through.set(period)]
                condition = None
                if hour.merged_summary is not None:
                    actions.append(PackStatsRecord.summary.set(hour.merged_summary))
                    condition = (PackStatsRecord.through == hour.merged_into if hour.merged_into is not None
                                 else PackStatsRecord.through.does_not_exist())
                transaction.update(row, actions=actions, condition=condition)
                if hour.hour_summary is not None:
                    transaction.save(PackStatsRecord(pk=pack_stats_pk(pack_id), sk=f"{HOUR_PREFIX}{period}",
                                                     opened=hour.opened, through=period, summary=hour.hour_summary))
    except TransactWriteError as exc:
        if exc.cause_response_code in CANCELLED:
            return False
        raise
    return True


class SealInterrupted(RuntimeError):
    """A chunk of an hour's counts could not be written (a conflict): the hour stays unsealed for the next sweep."""


def _exists(row: RecordSealRecord) -> bool:
    try:
        RecordSealRecord.get(row.pk, row.sk, consistent_read=True)
    except RecordSealRecord.DoesNotExist:
        return False
    return True


def pack_stats_pk(pack_id: str) -> str:
    return f"PACKSTATS#{pack_id}"


def pack_stats(pack_id: str) -> tuple[int, str | None]:
    """(openings counted from sealed hours, the last hour counted)."""
    try:
        row = PackStatsRecord.get(pack_stats_pk(pack_id), PACK_STATS_SORT_KEY, consistent_read=True)
    except PackStatsRecord.DoesNotExist:
        return 0, None
    return int(row.opened or 0), row.through


def pack_summaries(pack_ids: list[str]) -> dict[str, PackStatsRecord]:
    """The all-time stats rows of these packs (those that have one), read together."""
    keys = [(pack_stats_pk(pack_id), PACK_STATS_SORT_KEY) for pack_id in dict.fromkeys(pack_ids)]
    rows: dict[str, PackStatsRecord] = {}
    for start in range(0, len(keys), 100):
        for row in PackStatsRecord.batch_get(keys[start:start + 100], consistent_read=True):
            rows[row.pk.removeprefix("PACKSTATS#")] = row
    return rows


def pack_stats_rows(pack_id: str, since_period: str) -> tuple[PackStatsRecord | None, list[PackStatsRecord]]:
    """(the pack's all-time stats row, its hour rows from `since_period` on): two reads."""
    rows = pack_summaries([pack_id])
    hours = list(PackStatsRecord.query(pack_stats_pk(pack_id),
                                       PackStatsRecord.sk.between(f"{HOUR_PREFIX}{since_period}", f"{HOUR_PREFIX}~")))
    return rows.get(pack_id), hours


def unanchored_seals(limit: int) -> list[RecordSealRecord]:
    """The most recent sealed hours with openings and no anchor yet (newest first, among the last `limit`)."""
    rows = RecordSealRecord.query(SEALS_PK, scan_index_forward=False, limit=limit, consistent_read=True)
    return [row for row in rows if int(row.count) > 0 and row.anchor_signature is None]


def set_anchor(period: str, signature: str) -> bool:
    """Record an hour's anchor once; False when it already has one."""
    try:
        RecordSealRecord(pk=SEALS_PK, sk=period).update(
            actions=[RecordSealRecord.anchor_signature.set(signature), RecordSealRecord.anchored_at.set(utc_now_iso())],
            condition=RecordSealRecord.pk.exists() & RecordSealRecord.anchor_signature.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


register(RecordHeadRecord, RecordLeafRecord, RecordSealRecord, PackStatsRecord)

