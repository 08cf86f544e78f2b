from fractions import Fraction

import pytest

from packvault.fairness.odds import (
    Slot,
    WeightedItem,
    drawable_items_by_tier,
    fraction_to_decimal,
    probability_to_ppm,
    slot_odds,
)

SLOT = Slot(1, (("common", 750_000), ("rare", 200_000), ("legendary", 50_000)))
ITEMS = [
    WeightedItem("a", "common", 3),
    WeightedItem("b", "common", 1),
    WeightedItem("zero", "common", 0),
    WeightedItem("r", "rare", 5),
    WeightedItem("l", "legendary", 1),
]


def odds_by_item(tiers):
    return {item_id: p for tier in tiers for item_id, p in tier.items}


def test_item_odds_are_tier_probability_times_weight_share_and_sum_to_exactly_one():
    odds = odds_by_item(slot_odds(SLOT, drawable_items_by_tier(ITEMS, {})))
    assert odds["a"] == Fraction(3, 4) * Fraction(3, 4)
    assert odds["b"] == Fraction(3, 4) * Fraction(1, 4)
    assert sum(odds.values()) == 1


def test_zero_weight_items_are_never_listed_as_drawable():
    assert "zero" not in odds_by_item(slot_odds(SLOT, drawable_items_by_tier(ITEMS, {})))


def test_exhausted_item_is_excluded_and_its_tier_keeps_its_probability():
    odds = odds_by_item(slot_odds(SLOT, drawable_items_by_tier(ITEMS, {"a": 0, "b": 2})))
    assert "a" not in odds
    assert odds["b"] == Fraction(3, 4)


def test_a_tier_with_nothing_left_is_dropped_and_the_others_renormalised():
    tiers = slot_odds(SLOT, drawable_items_by_tier(ITEMS, {"l": 0}))
    assert [t.tier_id for t in tiers] == ["common", "rare"]
    assert [t.probability for t in tiers] == [Fraction(750, 950), Fraction(200, 950)]
    assert sum(odds_by_item(tiers).values()) == 1


def test_nothing_drawable_gives_no_odds():
    assert slot_odds(SLOT, drawable_items_by_tier(ITEMS, {"a": 0, "b": 0, "r": 0, "l": 0})) == []


@pytest.mark.parametrize(("text", "ppm"), [("1", 1_000_000), ("0.75", 750_000), ("0.000001", 1), ("0", 0)])
def test_probabilities_are_whole_parts_per_million(text, ppm):
    assert probability_to_ppm(text) == ppm


def test_too_fine_probability_is_rejected():
    with pytest.raises(ValueError, match="6 decimal places"):
        probability_to_ppm("0.0000001")


@pytest.mark.parametrize(
    ("value", "text"), [(Fraction(1, 3), "0.3333333333"), (Fraction(1, 1), "1"), (Fraction(9, 16), "0.5625")]
)
def test_fraction_display_rounds_without_float(value, text):
    assert fraction_to_decimal(value) == text
