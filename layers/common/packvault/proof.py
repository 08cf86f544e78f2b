"""An opening's fairness proof: what is published when the pack opens, and its independent check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packvault.draw import DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.fairness import canonical_hash, commitment

PROOF_FIELDS = ("opening_id", "server_seed", "server_seed_hash", "client_seed", "round", "stock", "odds_version",
                "odds_hash", "odds_table", "items")


@dataclass(frozen=True)
class ProofCheck:
    match: bool
    problems: list[str] = field(default_factory=list)
    expected_items: list[dict[str, str]] = field(default_factory=list)
    incomplete: bool = False  # an input is missing (or not yet revealed): nothing could be checked

    @property
    def verdict(self) -> str:
        return "incomplete" if self.incomplete else "match" if self.match else "mismatch"


def check_proof(proof: dict[str, Any]) -> ProofCheck:
    """Recompute an opening from its proof alone (docs/FAIRNESS.md section 6)."""
    missing = [name for name in PROOF_FIELDS if proof.get(name) is None]
    if missing:
        return ProofCheck(False, [f"the proof lacks {', '.join(missing)}"
                                  + (" (a seed pair's server seed is revealed when the pair is rotated)"
                                     if "server_seed" in missing and proof.get("scheme") == "seed-pair" else "")],
                          incomplete=True)
    problems = []
    try:
        seed_ok = commitment(proof["server_seed"]) == proof["server_seed_hash"]
    except ValueError:
        seed_ok = False
    if not seed_ok:
        problems.append("sha256(server_seed) is not server_seed_hash: the revealed seed is not the committed one")
    if canonical_hash(proof["odds_table"]) != proof["odds_hash"]:
        problems.append("the odds table does not hash to odds_hash")
    if problems:
        return ProofCheck(False, problems)
    # A balance opening draws under its seed pair's nonce ("draw_id"), fixed before the buyer chose to open.
    inputs = DrawInputs(proof["server_seed"], proof["client_seed"], proof.get("draw_id", proof["opening_id"]),
                        int(proof["round"]))
    try:
        drawn = draw_opening(OddsTable.from_document(proof["odds_table"]), inputs, proof["stock"])
    except NothingToDraw as exc:
        return ProofCheck(False, [f"nothing could be drawn from this odds table and stock: {exc}"])
    expected = [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]
    published = [{"tier_id": i["tier_id"], "item_id": i["item_id"]} for i in proof["items"]]
    if expected != published:
        differences = [
            f"draw {n}: published {p['item_id']} ({p['tier_id']}), recomputed {e['item_id']} ({e['tier_id']})"
            for n, (p, e) in enumerate(zip(published, expected, strict=False)) if p != e
        ]
        if len(published) != len(expected):
            differences.append(f"published {len(published)} items, recomputed {len(expected)}")
        return ProofCheck(False, differences, expected)
    return ProofCheck(True, [], expected)
