"""A sealed hour's entries let anyone check its ordering rule (docs/FAIRNESS.md 13.12)."""

from __future__ import annotations

from packvault.fairness.records import order_problems


def record(*entries: tuple[str, str]) -> dict:
    return {"period": "2026-12-05T10", "leaves": ["00" * 32] * len(entries),
            "entries": [{"at": at, "opening_id": opening_id} for at, opening_id in entries]}


def test_leaves_in_time_then_id_order_inside_the_hour_pass():
    assert order_problems(record(("2026-12-05T10:00:01.000Z", "b"), ("2026-12-05T10:00:01.000Z", "c"),
                                 ("2026-12-05T10:59:59.999Z", "a"))) == []
    assert order_problems({"period": "2026-12-05T10", "leaves": []}) == []  # published before entries were


def test_a_leaf_out_of_order_repeated_from_another_hour_or_unlisted_is_named():
    swapped = record(("2026-12-05T10:00:02.000Z", "a"), ("2026-12-05T10:00:01.000Z", "b"))
    assert order_problems(swapped) == ["the leaves of 2026-12-05T10 are not in (time, opening id) order"]
    repeated = record(("2026-12-05T10:00:01.000Z", "a"), ("2026-12-05T10:00:01.000Z", "a"))
    assert order_problems(repeated) == ["the leaves of 2026-12-05T10 are not in (time, opening id) order"]
    moved = record(("2026-12-05T09:59:59.000Z", "a"))
    assert order_problems(moved) == ["the record of 2026-12-05T10 holds a leaf from another hour"]
    short = {**record(("2026-12-05T10:00:01.000Z", "a")), "leaves": ["00" * 32] * 2}
    assert order_problems(short) == ["the record of 2026-12-05T10 lists 1 entries for 2 leaves"]
