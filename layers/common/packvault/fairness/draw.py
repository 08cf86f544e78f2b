"""The draw engine: tiered, stock-aware, deterministic given its public inputs. Pure: no I/O, no floats.

An opening draws its pack's slots in order; each draw picks a tier of the slot by ppm among the tiers
that still have a drawable item, then an item of that tier by weight among its drawable items (odds.py
states the policy). Randomness comes only from fairness.random_below over (opening_id, client_seed,
round, draw index, "tier" | "item"). docs/FAIRNESS.md is the normative description.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from packvault.fairness.odds import Slot, WeightedItem, drawable_items_by_tier
from packvault.fairness.primitives import canonical_hash, random_below


class NothingToDraw(Exception):
    """A slot has no drawable item left in any of its tiers: the pack cannot be opened."""


@dataclass(frozen=True, eq=False)
class OddsTable:
    """An odds version: the pack's slots and its items with weights, in catalogue order."""

    slots: tuple[Slot, ...]
    items: tuple[WeightedItem, ...]
    odds_hash: str

    @classmethod
    def from_document(cls, table: Mapping[str, Any]) -> OddsTable:
        return cls(
            slots=tuple(Slot(s["count"], tuple((t, int(ppm)) for t, ppm in s["tiers"])) for s in table["slots"]),
            items=tuple(WeightedItem(i["item_id"], i["tier_id"], int(i["weight"])) for i in table["items"]),
            odds_hash=canonical_hash(table),
        )

    @property
    def cards_per_pack(self) -> int:
        return sum(slot.count for slot in self.slots)


class _WeightedChoice:
    """Pick by integer weight: r uniform in [0, total), the first entry whose running sum exceeds r."""

    __slots__ = ("keys", "prefix", "total")

    def __init__(self, entries: Sequence[tuple[str, int]]) -> None:
        self.keys = [key for key, _ in entries]
        self.prefix = list(accumulate(weight for _, weight in entries))
        self.total = self.prefix[-1] if self.prefix else 0

    def pick(self, r: int) -> str:
        return self.keys[bisect_right(self.prefix, r)]


@dataclass(frozen=True)
class _Prepared:
    """Per-tier item choosers for one odds version and one set of exhausted items (shared, immutable)."""

    table: OddsTable
    tiers: Mapping[str, _WeightedChoice]


_PREPARED: dict[tuple[str, frozenset[str]], _Prepared] = {}
_PREPARED_LIMIT = 64


def _prepare(table: OddsTable, exhausted: frozenset[str]) -> _Prepared:
    """Cached by odds hash and exhausted set: a container builds each pack's prefix sums once."""
    key = (table.odds_hash, exhausted)
    prepared = _PREPARED.get(key)
    if prepared is None:
        by_tier = drawable_items_by_tier(table.items, dict.fromkeys(exhausted, 0))
        prepared = _Prepared(table, {tier: _WeightedChoice([(i.item_id, i.weight) for i in items])
                                     for tier, items in by_tier.items()})
        if len(_PREPARED) >= _PREPARED_LIMIT:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[key] = prepared
    return prepared


@dataclass(frozen=True)
class DrawInputs:
    server_seed: str  # 64 hex characters
    client_seed: str
    opening_id: str
    round: int = 0  # raised when a confirm loses a stock race and redraws


class Drawer:
    """Draws one opening. `stock` maps finite-stock item ids to units left; absent items are unlimited."""

    def __init__(self, table: OddsTable, inputs: DrawInputs, stock: Mapping[str, int]) -> None:
        self._inputs = inputs
        self._seed = bytes.fromhex(inputs.server_seed)
        self._remaining = {item_id: units for item_id, units in stock.items() if units is not None}
        exhausted = frozenset(item_id for item_id, units in self._remaining.items() if units <= 0)
        self._tiers = dict(_prepare(table, exhausted).tiers)
        self._table = table
        self._draw_index = 0
        self.at_published_odds = (True, True)  # of the last draw: (its slot's tiers, its tier's items) all drawable

    def draw(self, slot: Slot) -> tuple[str, str]:
        """(tier_id, item_id) of the next draw from `slot`."""
        tiers = _WeightedChoice([(t, ppm) for t, ppm in slot.tier_ppm if ppm > 0 and t in self._tiers])
        if not tiers.total:
            raise NothingToDraw(f"no drawable item left in tiers {[t for t, _ in slot.tier_ppm]}")
        tier_id = tiers.pick(self._random("tier", tiers.total))
        items = self._tiers[tier_id]
        item_id = items.pick(self._random("item", items.total))
        self.at_published_odds = (tiers.total == sum(ppm for _, ppm in slot.tier_ppm if ppm > 0),
                                  items.total == _tier_weight(self._table, tier_id))
        self._draw_index += 1
        self._consume(tier_id, item_id)
        return tier_id, item_id

    def _random(self, purpose: str, bound: int) -> int:
        i = self._inputs
        return random_below(self._seed, [i.opening_id, i.client_seed, i.round, self._draw_index, purpose], bound)

    def _consume(self, tier_id: str, item_id: str) -> None:
        if item_id not in self._remaining:
            return
        self._remaining[item_id] -= 1
        if self._remaining[item_id] == 0:
            exhausted = {k for k, v in self._remaining.items() if v <= 0}
            entries = [(i.item_id, i.weight) for i in self._table.items
                       if i.tier_id == tier_id and i.weight > 0 and i.item_id not in exhausted]
            if entries:
                self._tiers[tier_id] = _WeightedChoice(entries)
            else:
                del self._tiers[tier_id]


def _tier_weight(table: OddsTable, tier_id: str) -> int:
    """The tier's whole item weight, every item drawable (the prepared choosers with nothing exhausted, cached)."""
    return _prepare(table, frozenset()).tiers[tier_id].total


@dataclass(frozen=True)
class DrawnItem:
    slot: int
    tier_id: str
    item_id: str
    # Drawn while every tier of its slot (and every item of its tier) was drawable, i.e. at the published odds:
    # what the realized-odds statistics compare (pull_stats); stock running out legitimately shifts the rest.
    tiers_at_published_odds: bool = True
    items_at_published_odds: bool = True


def draw_opening(table: OddsTable, inputs: DrawInputs, stock: Mapping[str, int]) -> list[DrawnItem]:
    """The items of one opening, slot by slot. Raises NothingToDraw if a slot has nothing left."""
    drawer = Drawer(table, inputs, stock)
    drawn = []
    for slot_index, slot in enumerate(table.slots):
        for _ in range(slot.count):
            tier_id, item_id = drawer.draw(slot)
            drawn.append(DrawnItem(slot_index, tier_id, item_id, *drawer.at_published_odds))
    return drawn
