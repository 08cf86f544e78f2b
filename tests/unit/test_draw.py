"""The draw engine: exact odds in the long run, stock respected, deterministic across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from packvault.catalog.loader import read_catalog_file
from packvault.fairness.draw import Drawer, DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.fairness.odds import drawable_items_by_tier, slot_odds
from packvault.fairness.primitives import commitment, new_server_seed, random_below
from tests.conftest import DEMO_CATALOG, ROOT

PACKS = {p.pack_id: p for p in read_catalog_file(DEMO_CATALOG)}
STARTER = OddsTable.from_document(PACKS["starter-unlimited"].odds_table())
SEED = "0f" * 32


def test_one_million_draws_match_the_published_odds():
    slot = STARTER.slots[0]
    drawer = Drawer(STARTER, DrawInputs(SEED, "chi-square", "stat-opening"), {})
    draws = 1_000_000
    counts = Counter(drawer.draw(slot) for _ in range(draws))
    published = slot_odds(slot, drawable_items_by_tier(STARTER.items, {}))
    item_odds = {(tier.tier_id, item_id): p for tier in published for item_id, p in tier.items}
    assert set(counts) <= set(item_odds)  # zero-weight "retired-proto" never appears
    keys = sorted(item_odds)
    items = chisquare([counts[k] for k in keys], [float(item_odds[k] * draws) for k in keys])
    tiers = Counter(tier for tier, _ in counts.elements())
    tier_keys = [t.tier_id for t in published]
    tier_test = chisquare([tiers[t] for t in tier_keys], [float(t.probability * draws) for t in published])
    assert items.pvalue > 0.001, items
    assert tier_test.pvalue > 0.001, tier_test


def test_zero_weight_and_exhausted_items_never_appear():
    stock = {"frostwyrm": 0}
    seen = Counter()
    for n in range(3000):
        seen.update(d.item_id for d in draw_opening(STARTER, DrawInputs(SEED, str(n), "o"), stock))
    assert seen["retired-proto"] == 0 and seen["frostwyrm"] == 0
    assert seen["stormcaller"] > 0  # the rare tier is still drawn, from what is left


def test_exhausted_tier_is_skipped_with_the_others_renormalised():
    stock = {"psa10-titan": 0, "bgs10-wyrm": 0}
    chase = OddsTable.from_document(PACKS["vault-chase"].odds_table())
    tiers = Counter(draw_opening(chase, DrawInputs(SEED, str(n), "o"), stock)[0].tier_id for n in range(500))
    assert tiers == {"base": 500}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=2),
       st.integers(min_value=0, max_value=2), st.text(max_size=8))
def test_an_opening_never_draws_more_units_than_are_left(ember, tide, moss, client_seed):
    stock = {"emberling": ember, "tidepup": tide, "mossback": moss}
    try:
        drawn = draw_opening(STARTER, DrawInputs(SEED, client_seed, "o"), stock)
    except NothingToDraw:
        return
    counts = Counter(d.item_id for d in drawn)
    for item_id, units in stock.items():
        assert counts[item_id] <= units


def test_a_pack_with_nothing_left_cannot_be_drawn():
    chase = OddsTable.from_document(PACKS["vault-chase"].odds_table())
    empty = {"psa9-ember": 0, "psa9-tide": 0, "psa10-titan": 0, "bgs10-wyrm": 0}
    with pytest.raises(NothingToDraw):
        draw_opening(chase, DrawInputs(SEED, "c", "o"), empty)


def test_slots_draw_from_their_own_tiers():
    booster = OddsTable.from_document(PACKS["booster-classic"].odds_table())
    for n in range(200):
        drawn = draw_opening(booster, DrawInputs(SEED, str(n), "o"), {})
        assert [d.tier_id for d in drawn[:4]] == ["common"] * 4
        assert drawn[4].tier_id in {"rare", "mythic"}


def test_client_seed_round_and_opening_each_change_the_outcome():
    seed = new_server_seed()
    variants = [DrawInputs(seed, "client", "opening"), DrawInputs(seed, "client2", "opening"),
                DrawInputs(seed, "client", "opening2"), DrawInputs(seed, "client", "opening", 1)]
    streams = {Drawer(STARTER, v, {})._random("item", 2**64) for v in variants}
    assert len(streams) == len(variants)


def test_same_inputs_give_the_same_items_in_another_process():
    inputs = DrawInputs(SEED, "determinism", "opening-x")
    here = [d.item_id for d in draw_opening(STARTER, inputs, {"tidepup": 1})]
    code = (
        "import json; from packvault.catalog.loader import read_catalog_file;"
        "from packvault.fairness.draw import *;"
        f"p = {{p.pack_id: p for p in read_catalog_file({str(DEMO_CATALOG)!r})}}['starter-unlimited'];"
        f"print(json.dumps([d.item_id for d in draw_opening(OddsTable.from_document(p.odds_table()),"
        f" DrawInputs({SEED!r}, 'determinism', 'opening-x'), {{'tidepup': 1}})]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert json.loads(out.stdout) == here


@given(st.binary(min_size=32, max_size=32), st.integers(min_value=1, max_value=2**256), st.integers(0, 10**6))
def test_random_below_stays_in_range(seed, bound, draw):
    assert 0 <= random_below(seed, ["o", "c", 0, draw, "item"], bound) < bound


@pytest.mark.parametrize("bound", [0, -1, 2**256 + 1])
def test_random_below_rejects_ranges_it_cannot_sample_uniformly(bound):
    with pytest.raises(ValueError, match="positive and at most"):
        random_below(b"\0" * 32, [], bound)


def test_commitment_is_sha256_of_the_seed_bytes():
    assert commitment("00" * 32) == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"


def test_item_odds_in_the_stream_follow_weights_exactly_for_a_small_space():
    # With bound 8 the sampler is exactly uniform; the weighted pick maps r to items by running sums.
    from packvault.fairness.draw import _WeightedChoice

    choice = _WeightedChoice([("a", 3), ("b", 0), ("c", 5)])
    assert [choice.pick(r) for r in range(8)] == ["a"] * 3 + ["c"] * 5
    assert Fraction(3, 8) == Fraction(sum(1 for r in range(8) if choice.pick(r) == "a"), 8)
