"""The public catalog: packs with their prices, remaining supply and exact odds disclosure."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.fairness.odds import Slot, WeightedItem, drawable_items_by_tier, fraction_to_decimal, slot_odds
from packvault.fairness.primitives import canonical_hash

PACK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ODDS_POLICY = (
    "Items with no stock left or zero weight are never drawn. A slot draws a tier among the tiers that still "
    "have a drawable item, in proportion to their published probabilities, then an item of that tier by weight."
)


def list_active_packs() -> list[dict[str, Any]]:
    return [pack_view(pack, store.pack_items(pack.pack_id)) for pack in store.list_packs() if pack.status == "ACTIVE"]


def get_pack(pack_id: str) -> dict[str, Any]:
    return pack_view(existing_pack(pack_id), store.pack_items(pack_id))


def existing_pack(pack_id: str) -> store.PackRecord:
    """The pack, also an inactive one; 400 INVALID_PACK_ID or 404 PACK_NOT_FOUND."""
    if not PACK_ID.match(pack_id):
        raise PackvaultError(ErrorCode.INVALID_PACK_ID)
    pack = store.get_pack(pack_id)
    if pack is None:
        raise PackvaultError(ErrorCode.PACK_NOT_FOUND, f"No pack has the id {pack_id!r}.")
    return pack


def get_odds_version(pack_id: str, version: str) -> dict[str, Any]:
    """An immutable odds version: the table a draw used and its hash, for anyone checking a proof."""
    if not PACK_ID.match(pack_id):
        raise PackvaultError(ErrorCode.INVALID_PACK_ID)
    number = int(version) if version.isdigit() and len(version) <= 6 else 0
    table = store.odds_table(pack_id, number) if number else None
    if table is None:
        raise PackvaultError(ErrorCode.ODDS_VERSION_NOT_FOUND, f"Pack {pack_id!r} has no odds version {version!r}.")
    return {"pack_id": pack_id, "odds_version": number, "odds_hash": canonical_hash(table), "odds_table": table}


def get_stock_chain(pack_id: str) -> dict[str, Any]:
    """A pack's stock history chain (docs/FAIRNESS.md section 9), oldest link first, with its head."""
    from packvault.fairness import stock_chain

    existing_pack(pack_id)  # 404 for a pack that does not exist
    links = store.stock_chain(pack_id)
    return {"pack_id": pack_id, "head": links[-1]["hash"] if links else None, "links": links,
            "intact": not stock_chain.verify(pack_id, links)}


def slots_of(pack: store.PackRecord) -> list[Slot]:
    return [Slot(s["count"], tuple((t, ppm) for t, ppm in s["tiers"])) for s in pack.layout["slots"]]


def pack_view(pack: store.PackRecord, items: list[store.PackItemRecord]) -> dict[str, Any]:
    live = [row for row in items if not row.retired]
    odds = _odds_view(pack, live)
    drawable = all(slot["tiers"] for slot in odds["slots"])
    supply = store.supply_counts(pack)  # summed over its shards
    available = supply.available if supply is not None else None
    return {
        "pack_id": pack.pack_id,
        "name": pack.name,
        "description": pack.description,
        "image_url": pack.image_url,
        "status": pack.status,
        "prices": [price_view(symbol, amount, pack.stripe_price_id)
                   for symbol, amount in sorted(pack.prices.as_dict().items())],
        "cards_per_pack": int(pack.cards_per_pack),
        "max_quantity": store.max_quantity(pack),
        "supply": _supply_view(supply),
        "remaining_supply": available,
        "sold_out": (available is not None and available <= 0) or not drawable,
        "odds": odds,
    }


def price_view(symbol: str, amount: str, stripe_price_id: str | None) -> dict[str, str]:
    unit = money.currency(symbol)
    view = {"currency": unit.symbol, "amount": amount, "rail": unit.rail,
            "amount_base_units": str(money.to_base_units(amount, unit.decimals))}
    if unit.rail == "stripe" and stripe_price_id:
        view["stripe_price_id"] = stripe_price_id
    return view


def _supply_view(supply: store.SupplyCounts | None) -> dict[str, Any]:
    if supply is None:
        return {"limited": False}
    return {"limited": True, "total": supply.total, "available": supply.available, "reserved": supply.reserved,
            "sold": supply.sold}


def _odds_view(pack: store.PackRecord, items: list[store.PackItemRecord]) -> dict[str, Any]:
    weighted = [WeightedItem(row.item_id, row.tier_id, int(row.weight)) for row in items]
    available = {row.item_id: _optional_int(row.stock_available) for row in items}
    drawable = drawable_items_by_tier(weighted, available)
    rows = {row.item_id: row for row in items}
    tier_names = {t["tier_id"]: t["name"] for t in pack.layout["tiers"]}
    slots = []
    for slot in slots_of(pack):
        tiers = [
            {
                "tier_id": tier.tier_id,
                "name": tier_names[tier.tier_id],
                "probability": fraction_to_decimal(tier.probability),
                "probability_exact": f"{tier.probability.numerator}/{tier.probability.denominator}",
                "items": [_item_odds_view(rows[item_id], p, available[item_id]) for item_id, p in tier.items],
            }
            for tier in slot_odds(slot, drawable)
        ]
        slots.append({"count": slot.count, "tiers": tiers})
    return {"version": int(pack.odds_version), "hash": pack.odds_hash, "policy": ODDS_POLICY, "slots": slots}


def _item_odds_view(row: store.PackItemRecord, probability: Any, stock_left: int | None) -> dict[str, Any]:
    return {
        "item_id": row.item_id,
        "name": row.name,
        "nft_id": row.nft_id,
        "rarity": row.rarity,
        "fmv": row.fmv,
        "image_url": row.image_url,
        "weight": int(row.weight),
        "stock_remaining": stock_left,
        "probability": fraction_to_decimal(probability),
        "probability_exact": f"{probability.numerator}/{probability.denominator}",
    }


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def list_active_bundles() -> list[dict[str, Any]]:
    """Credit bundles on sale: so many credits (1 credit = US$0.01), priced per currency like packs."""
    return [{"bundle_id": b.bundle_id, "name": b.name, "credits": int(b.credits),
             "prices": [price_view(symbol, amount, None) for symbol, amount in sorted(b.prices.as_dict().items())]}
            for b in store.list_bundles() if b.status == "ACTIVE"]


def list_game_credits() -> list[dict[str, Any]]:
    """Items on sale, grouped by game, with the user data each game needs."""
    games: dict[str, dict[str, Any]] = {}
    for item in store.list_topup_items():
        if item.status != "ACTIVE":
            continue
        game = games.setdefault(item.game_id, {"game_id": item.game_id, "name": item.game_name,
                                               "user_data_schema": item.user_data_schema, "items": []})
        game["items"].append({"item_id": item.item_id, "name": item.name, "denomination": int(item.denomination),
                              "prices": [price_view(symbol, amount, None)
                                         for symbol, amount in sorted(item.prices.as_dict().items())]})
    return list(games.values())


@cache
def openapi_document() -> str:
    """The committed OpenAPI document (generated by `make openapi`), read once per container."""
    from importlib import resources

    return resources.files("packvault").joinpath("schemas/openapi.json").read_text(encoding="utf-8")
