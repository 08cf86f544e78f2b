"""The public record of openings (fairness v2): a leaf per opened pack, written in its open transaction, and
per hour a sealed Merkle root over that hour's leaves. Leaves are spread over RECORD_SHARDS partitions so a hot
drop has no single hot key; a sealed hour is immutable."""

from __future__ import annotations

import hashlib

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from packvault.store.table import Row, TableMeta, register, utc_now_iso

RECORD_SHARDS = 16
SEALS_PK = "RECORD_SEALS"


class RecordLeafRecord(Row):
    class Meta(TableMeta):
        pass

    leaf = UnicodeAttribute()  # hex sha256, FAIRNESS.md section 9
    opening_id = UnicodeAttribute()


class RecordSealRecord(Row):
    class Meta(TableMeta):
        pass

    root = UnicodeAttribute()
    count = NumberAttribute()
    sealed_at = UnicodeAttribute()
    anchor_signature = UnicodeAttribute(null=True)  # the Solana memo transaction carrying the root (anchoring.py)
    anchored_at = UnicodeAttribute(null=True)


def period_of(opened_at: str) -> str:
    """The hour an opening belongs to: '2026-11-24T09'."""
    return opened_at[:13]


def leaf_row(opening_id: str, opened_at: str, leaf: str) -> RecordLeafRecord:
    shard = int(hashlib.sha256(opening_id.encode()).hexdigest(), 16) % RECORD_SHARDS
    return RecordLeafRecord(pk=f"RECORD#{period_of(opened_at)}#{shard:02d}", sk=f"{opened_at}#{opening_id}",
                            leaf=leaf, opening_id=opening_id)


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


def put_seal(period: str, root: str, count: int) -> bool:
    """Sealed once; False when it already was (a concurrent sweep)."""
    try:
        RecordSealRecord(pk=SEALS_PK, sk=period, root=root, count=count, sealed_at=utc_now_iso()).save(
            condition=RecordSealRecord.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


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


register(RecordLeafRecord, RecordSealRecord)
