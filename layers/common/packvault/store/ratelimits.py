"""Per-identity request counters: one row per (scope, identity, minute), counted by one conditional update."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError

from packvault.store.table import Row, TableMeta, is_condition_failure, register

RATE_SORT_KEY = "RATE"


class RateCounterRecord(Row):
    class Meta(TableMeta):
        pass

    count = NumberAttribute(default=0)
    ttl = NumberAttribute()


def take(scope: str, identity: str, window_start: int, window_seconds: int, limit: int) -> bool:
    """Count one request in this window; False (and nothing counted) when `limit` were already counted."""
    row = RateCounterRecord(pk=f"RATE#{scope}#{identity}#{window_start}", sk=RATE_SORT_KEY)
    try:
        row.update(actions=[RateCounterRecord.count.add(1),
                            RateCounterRecord.ttl.set(window_start + window_seconds + 300)],
                   condition=RateCounterRecord.count.does_not_exist() | (RateCounterRecord.count < limit))
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


register(RateCounterRecord)
