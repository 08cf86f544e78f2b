"""Exact odds of a pack: what each slot can reveal and with which probability, given current stock.

Pure: no I/O, no floats. Probabilities are whole parts per million (ppm) and weights are integers, so
every odds figure is an exact fraction. The draw engine and the catalog's odds disclosure both read
their odds from here, so what is published is what is drawn.

Effective-odds policy when stock runs out: an item is drawable while its weight is positive and it has
stock left (or unlimited stock). A tier is drawable while it has a drawable item. A slot draws its tier
from the drawable tiers only, renormalising their ppm over their sum; then an item of that tier by
weight among the tier's drawable items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

PPM = 1_000_000


@dataclass(frozen=True)
class Slot:
    count: int
    tier_ppm: tuple[tuple[str, int], ...]  # (tier_id, parts per million), in published order


@dataclass(frozen=True)
class WeightedItem:
    item_id: str
    tier_id: str
    weight: int


@dataclass(frozen=True)
class TierOdds:
    tier_id: str
    probability: Fraction
    items: tuple[tuple[str, Fraction], ...]  # (item_id, probability of this item in one draw of the slot)


def probability_to_ppm(probability: str) -> int:
    """'0.125' -> 125000. The catalog schema guarantees at most 6 decimal places."""
    whole, _, fraction = probability.partition(".")
    if len(fraction) > 6:
        raise ValueError(f"probability {probability!r} has more than 6 decimal places")
    return int(whole) * PPM + int(fraction.ljust(6, "0") or "0")


def is_drawable(weight: int, available: int | None) -> bool:
    return weight > 0 and (available is None or available > 0)


def drawable_items_by_tier(
    items: Sequence[WeightedItem], available: Mapping[str, int | None]
) -> dict[str, list[WeightedItem]]:
    """Drawable items grouped by tier, in catalogue order. `available` maps item_id -> stock left."""
    by_tier: dict[str, list[WeightedItem]] = {}
    for item in items:
        if is_drawable(item.weight, available.get(item.item_id)):
            by_tier.setdefault(item.tier_id, []).append(item)
    return by_tier


def slot_odds(slot: Slot, drawable: Mapping[str, Sequence[WeightedItem]]) -> list[TierOdds]:
    """Exact per-draw odds of one slot, renormalised over its drawable tiers. Empty: nothing drawable."""
    tiers = [(tier_id, ppm) for tier_id, ppm in slot.tier_ppm if ppm > 0 and drawable.get(tier_id)]
    tier_total = sum(ppm for _, ppm in tiers)
    result = []
    for tier_id, ppm in tiers:
        tier_probability = Fraction(ppm, tier_total)
        weight_total = sum(item.weight for item in drawable[tier_id])
        items = tuple(
            (item.item_id, tier_probability * Fraction(item.weight, weight_total)) for item in drawable[tier_id]
        )
        result.append(TierOdds(tier_id, tier_probability, items))
    return result


def fraction_to_decimal(value: Fraction, places: int = 10) -> str:
    """A probability for display, rounded half-even to `places` decimals, without trailing zeros."""
    scaled = value * 10**places
    rounded = round(scaled)  # Fraction rounds half to even, exactly
    whole, fraction = divmod(rounded, 10**places)
    digits = str(fraction).rjust(places, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
