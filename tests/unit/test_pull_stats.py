"""Pull statistics (fairness/pull_stats.py): the goodness-of-fit arithmetic against published tables, and the fold
of sealed hours: additive, exactly once per leaf, the rarest and biggest pulls kept in order."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from types import SimpleNamespace

import pytest

from packvault.fairness import pull_stats
from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening

TABLE = {"slots": [{"count": 3, "tiers": [["common", 900000], ["rare", 100000]]},
                   {"count": 1, "tiers": [["rare", 950000], ["chase", 50000]]}],
         "items": [{"item_id": "c1", "tier_id": "common", "weight": 3}, {"item_id": "c2", "tier_id": "common",
                                                                           "weight": 1},
                   {"item_id": "r1", "tier_id": "rare", "weight": 1}, {"item_id": "x1", "tier_id": "chase",
                                                                        "weight": 1}]}
FMV = {"c1": "0.10", "c2": "0.25", "r1": "2.00", "x1": "150.00"}


@pytest.fixture(autouse=True)
def published(monkeypatch):
    monkeypatch.setattr(pull_stats, "_PUBLISHED", {("pack", 1): pull_stats.PublishedOdds(TABLE)})


def leaves(count: int, start: int = 0, stock: dict[str, int] | None = None) -> list[SimpleNamespace]:
    """`count` openings drawn by the real draw engine, as sealed leaf rows of pack 'pack'."""
    table = OddsTable.from_document(TABLE)
    rows = []
    for n in range(start, start + count):
        opening_id = f"00000000-0000-4000-8000-{n:012d}"
        seed = hashlib.sha256(f"seed{n}".encode()).hexdigest()
        drawn = draw_opening(table, DrawInputs(seed, f"client{n}", opening_id), stock or {})
        draws = pull_stats.leaf_draws(1, drawn, [{"fmv": FMV[d.item_id]} for d in drawn])
        rows.append(SimpleNamespace(pack_id="pack", opening_id=opening_id, sk=f"2031-01-01T00:{n % 60:02d}:00Z#"
                                    f"{opening_id}", draws=draws, ended=None))
    return rows


def test_the_chi_square_tail_matches_published_critical_values():
    for statistic, freedom, expected in [(3.841459, 1, 0.05), (5.991465, 2, 0.05), (18.307038, 10, 0.05),
                                         (6.634897, 1, 0.01), (0.0, 3, 1.0), (10.827566, 1, 0.001),
                                         (1.0, 4, 0.909796)]:
        assert pull_stats.chi_square_sf(statistic, freedom) == pytest.approx(expected, abs=2e-6)


def test_the_wilson_interval_matches_its_textbook_values():
    low, high = pull_stats.wilson_interval(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    low, high = pull_stats.wilson_interval(0, 20)
    assert low == 0.0 and round(high, 4) == 0.1611


def test_published_probabilities_are_exact_fractions_of_the_table():
    odds = pull_stats.PublishedOdds(TABLE)
    assert odds.item_probability(0, "common", "c1") == Fraction(9, 10) * Fraction(3, 4)
    assert odds.item_probability(1, "chase", "x1") == Fraction(1, 20)
    assert odds.item_probability(0, "chase", "x1") is None  # slot 0 has no chase tier


def test_an_hour_is_folded_per_pack_and_two_hours_merge_to_the_fold_of_both():
    first, second = leaves(40), leaves(25, start=40)
    both = pull_stats.fold_hour(first + second)["pack"]
    merged = pull_stats.merge(pull_stats.fold_hour(first)["pack"], pull_stats.fold_hour(second)["pack"])
    assert merged == both
    assert both["openings"] == 65 and both["draws"] == 65 * 4
    assert sum(both["items"].values()) == 260 and sum(both["tiers"].values()) == 260
    drawn = [json.loads(row.draws)["d"] for row in first + second]
    assert both["items"]["x1"] == sum(1 for draws in drawn for d in draws if d[2] == "x1")


def test_the_rarest_and_biggest_pulls_are_the_top_ten_in_order_with_their_openings():
    summary = pull_stats.fold_hour(leaves(200))["pack"]
    rarest = summary["rarest"]
    assert len(rarest) == pull_stats.TOP
    assert [Fraction(p["probability_fraction"]) for p in rarest] == sorted(Fraction(p["probability_fraction"])
                                                                           for p in rarest)
    chase = summary["items"].get("x1", 0)
    assert all(p["item_id"] == "x1" for p in rarest[:min(chase, 10)])
    biggest = summary["biggest"]
    assert [p["fmv"] for p in biggest[:min(chase, 10)]] == ["150.00"] * min(chase, 10)
    assert all(p["opening_id"].startswith("00000000-") for p in biggest)


def test_leaves_without_draws_count_as_openings_only():
    old = SimpleNamespace(pack_id="pack", opening_id="o", sk="2031-01-01T00:00:00Z#o", draws=None, ended=None)
    summary = pull_stats.fold_hour([old, SimpleNamespace(pack_id=None, opening_id="p", sk="x#p", draws=None,
                                                         ended=None)])
    assert list(summary) == ["pack"] and summary["pack"]["openings"] == 1 and summary["pack"]["draws"] == 0


def test_endings_are_counted_by_outcome_apart_from_openings_and_merge():
    """FAIRNESS.md 13.11: a quote that ended without opening is a leaf too; it counts as an ending, never an opening."""
    ended = [SimpleNamespace(pack_id="pack", opening_id=f"e{n}", sk=f"2031-01-01T00:00:0{n}Z#e{n}", draws=None,
                             ended=outcome) for n, outcome in enumerate(["expired", "expired", "refund_due"])]
    hour = pull_stats.fold_hour(leaves(4) + ended)["pack"]
    assert (hour["openings"], hour["ended"]) == (4, {"expired": 2, "refund_due": 1})
    merged = pull_stats.merge(hour, pull_stats.fold_hour(ended[:1])["pack"])
    assert (merged["openings"], merged["ended"]) == (4, {"expired": 3, "refund_due": 1})


def test_fair_draws_of_the_engine_fit_the_published_odds():
    summary = pull_stats.fold_hour(leaves(600))["pack"]
    fit = pull_stats.realized_odds("pack", summary, 1)
    assert fit["chi_square"]["sample_size"] == 600 * 4 and fit["chi_square"]["valid"]
    assert fit["chi_square"]["p_value"] > 0.001 and not fit["drift"]
    slot0 = {row["tier_id"]: row for row in fit["slots"][0]["tiers"]}
    assert slot0["common"]["published"] == "0.9" and slot0["common"]["observed"] + slot0["rare"]["observed"] == 1800
    low, high = (float(x) for x in slot0["common"]["interval_95"])
    assert low < 0.9 < high


def test_skewed_draws_are_flagged_as_drift_and_a_small_sample_never_is():
    summary = pull_stats.fold_hour(leaves(600))["pack"]
    skewed = json.loads(json.dumps(summary))
    slot1 = skewed["odds"]["1"]["slots"]["1"]["tiers"]
    slot1["chase"], slot1["rare"] = 0, slot1.get("rare", 0) + slot1.get("chase", 0)  # the chase never comes
    fit = pull_stats.realized_odds("pack", skewed, 1)
    assert fit["slots"][1]["tiers"][1]["observed"] == 0 and fit["slots"][1]["tiers"][1]["p_value"] < 1e-6
    assert fit["drift"] and fit["chi_square"]["p_value"] < pull_stats.DRIFT_P_VALUE
    small = pull_stats.fold_hour(leaves(20))["pack"]  # slot 1 expects 1 chase in 20: too few to judge
    small["odds"]["1"]["slots"]["1"]["tiers"] = {"rare": 20}
    fit = pull_stats.realized_odds("pack", small, 1)
    assert not fit["slots"][1]["chi_square"]["valid"] and not fit["drift"]


def test_draws_made_once_stock_ran_out_are_left_out_of_the_comparison():
    summary = pull_stats.fold_hour(leaves(50, stock={"x1": 0}))["pack"]  # the chase is gone: slot 1 is all rare
    counted = summary["odds"]["1"]["slots"]
    assert counted["0"]["n"] == 150 and "1" not in counted
    assert summary["tiers"]["rare"] >= 50  # still counted as pulls
    fit = pull_stats.realized_odds("pack", summary, 1)
    assert fit["slots"][1]["draws"] == 0 and not fit["drift"]
