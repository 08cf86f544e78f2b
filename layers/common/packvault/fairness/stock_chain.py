"""The stock history chain of a pack (fairness v2, docs/FAIRNESS.md section 9): every change to what a quote
commits to (the finite items' stock totals, the pack's supply total) is a link whose hash covers the previous
link's, written in the same transaction as the change. An operator cannot rewrite or hide a stock change after the
fact without breaking the chain that anyone can fetch and check (GET /api/v1/packs/{pack_id}/stock-chain)."""

from __future__ import annotations

from typing import Any

from packvault.fairness.primitives import canonical_hash

GENESIS = "0" * 64
LINK_FIELDS = ("pack_id", "seq", "prev", "stock_totals", "supply_total", "at")


def link(pack_id: str, seq: int, prev: str, stock_totals: dict[str, int], supply_total: int | None,
         at: str) -> dict[str, Any]:
    """A link: `hash = hex(sha256(canonical_json({pack_id, seq, prev, stock_totals, supply_total, at})))`."""
    body = {"pack_id": pack_id, "seq": seq, "prev": prev, "stock_totals": dict(sorted(stock_totals.items())),
            "supply_total": supply_total, "at": at}
    return {**body, "hash": canonical_hash(body)}


def changed(previous_totals: dict[str, int] | None, previous_supply: int | None, totals: dict[str, int],
            supply_total: int | None, first: bool) -> bool:
    """Whether a load changes what quotes commit to (a new pack always starts its chain)."""
    return first or dict(previous_totals or {}) != dict(totals) or previous_supply != supply_total


def verify(pack_id: str, links: list[dict[str, Any]]) -> list[str]:
    """Problems with a chain, oldest link first: each link hashes to its `hash`, names the previous link's hash,
    and the sequence runs 1, 2, 3, ... without gaps. Empty when intact."""
    problems, prev = [], GENESIS
    for expected_seq, entry in enumerate(links, start=1):
        body = {name: entry.get(name) for name in LINK_FIELDS}
        if entry.get("pack_id") != pack_id:
            problems.append(f"link {entry.get('seq')} belongs to another pack")
        if entry.get("seq") != expected_seq:
            problems.append(f"link {expected_seq} is missing (found {entry.get('seq')})")
        if entry.get("prev") != prev:
            problems.append(f"link {entry.get('seq')} does not follow the link before it")
        if canonical_hash(body) != entry.get("hash"):
            problems.append(f"link {entry.get('seq')} was changed after it was written")
        prev = entry.get("hash")
    return problems


def state_at(links: list[dict[str, Any]], moment: str) -> dict[str, Any] | None:
    """The stock totals and supply in force at `moment` (ISO 8601 UTC): the last link written at or before it."""
    current = None
    for entry in links:
        if entry["at"] <= moment:
            current = {"stock_totals": entry["stock_totals"], "supply_total": entry["supply_total"],
                       "seq": entry["seq"]}
    return current
