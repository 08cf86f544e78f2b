"""docs/FAIRNESS.md's test vectors, checked against the code and against an independent implementation
written from the document's text alone (it imports nothing from packvault)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from packvault.draw import DrawInputs, OddsTable, draw_opening
from packvault.fairness import canonical_hash, commitment, random_below
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "FAIRNESS.md").read_text(encoding="utf-8")
VECTORS = json.loads(re.search(r"```json\n(.*?)\n```", DOC, re.S).group(1))


# --- an independent implementation of docs/FAIRNESS.md -------------------------------------------------

def spec_canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def spec_random_below(seed: bytes, context: list, n: int) -> tuple[int, int]:
    limit = 2**256 - (2**256 % n)
    k = 0
    while True:
        x = int.from_bytes(hmac.new(seed, spec_canonical(["packvault-draw-v1", *context, k]), hashlib.sha256).digest(),
                           "big")
        if x < limit:
            return x % n, k
        k += 1


def spec_first_over(entries: list[tuple[str, int]], r: int) -> str:
    running = 0
    for key, weight in entries:
        running += weight
        if running > r:
            return key
    raise AssertionError("r out of range")


def spec_draw(v: dict) -> list[dict]:
    table, seed = v["odds_table"], bytes.fromhex(v["server_seed"])
    remaining = dict(v["stock"])
    out, d = [], 0
    for slot in table["slots"]:
        for _ in range(slot["count"]):
            def drawable(item):
                return item["weight"] > 0 and remaining.get(item["item_id"], 1) > 0
            tiers = [(t, ppm) for t, ppm in slot["tiers"]
                     if ppm > 0 and any(i["tier_id"] == t and drawable(i) for i in table["items"])]
            ctx = [v["opening_id"], v["client_seed"], v["round"], d]
            r, _ = spec_random_below(seed, [*ctx, "tier"], sum(p for _, p in tiers))
            tier = spec_first_over(tiers, r)
            items = [(i["item_id"], i["weight"]) for i in table["items"] if i["tier_id"] == tier and drawable(i)]
            r, _ = spec_random_below(seed, [*ctx, "item"], sum(w for _, w in items))
            item = spec_first_over(items, r)
            out.append({"tier_id": tier, "item_id": item})
            if item in remaining:
                remaining[item] -= 1
            d += 1
    return out


# --- the checks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS["random_below"], ids=lambda v: v["bound"][:12])
def test_random_below_vectors(vector):
    seed, bound = bytes.fromhex(vector["server_seed"]), int(vector["bound"])
    assert spec_canonical(["packvault-draw-v1", *vector["context"], 0]).decode() == vector["message_for_attempt_0"]
    assert spec_random_below(seed, vector["context"], bound) == (int(vector["value"]), vector["accepted_attempt"])
    assert random_below(seed, vector["context"], bound) == int(vector["value"])


def test_a_vector_exercises_the_rejection_step():
    assert any(v["accepted_attempt"] > 0 for v in VECTORS["random_below"])


@pytest.mark.parametrize("vector", VECTORS["openings"], ids=lambda v: v["name"])
def test_opening_vectors(vector):
    assert commitment(vector["server_seed"]) == vector["server_seed_hash"]
    assert canonical_hash(vector["odds_table"]) == vector["odds_hash"]
    assert spec_draw(vector) == vector["items"]
    inputs = DrawInputs(vector["server_seed"], vector["client_seed"], vector["opening_id"], vector["round"])
    drawn = draw_opening(OddsTable.from_document(vector["odds_table"]), inputs, vector["stock"])
    assert [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn] == vector["items"]
