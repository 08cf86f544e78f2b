"""Catalog files: validate against the published JSON Schema and the rules a schema cannot say, then load
them idempotently. Loading the same file twice changes nothing; reloading never resets what is sold.

The command-line tool and the operators' API import this module; no buyer route does (jsonschema stays off
the hot path).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from packvault import store
from packvault.catalog import item_definitions
from packvault.core import money
from packvault.core.times import iso_millis
from packvault.fairness import stock_chain
from packvault.fairness.odds import PPM, probability_to_ppm
from packvault.fairness.primitives import canonical_hash, canonical_json

MAX_CARDS_PER_PACK = 40  # the open transaction writes ~2 rows per card plus fixed rows; DynamoDB caps it at 100


SlotSpec = tuple[int, tuple[tuple[str, int], ...]]  # (count, ((tier_id, ppm), ...))


class CatalogError(ValueError):
    """A catalog file that cannot be loaded. `problems` name the offending fields."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("catalog rejected:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class ItemDefinition:
    item_id: str
    tier_id: str
    name: str
    nft_id: str
    rarity: str
    fmv: str
    weight: int
    stock: int | None
    metadata: dict[str, Any] | None
    image_url: str | None = None


@dataclass(frozen=True)
class PackDefinition:
    pack_id: str
    name: str
    description: str | None
    status: str
    prices: dict[str, str]
    cards_per_pack: int
    supply_total: int | None
    max_per_wallet: int | None
    tiers: tuple[tuple[str, str], ...]  # (tier_id, name)
    slots: tuple[SlotSpec, ...]  # (count, ((tier_id, ppm), ...))
    items: tuple[ItemDefinition, ...] = field(repr=False)
    stripe_price_id: str | None = None  # the Stripe Price of the USD price, when Stripe holds one
    supply_shards: int = 1  # a limited supply's counters spread over this many rows (store.supply)
    buyback: tuple[int, int] | None = None  # (rate in basis points, window hours); None: the deployment default
    max_quantity: int | None = None  # the catalog's own bulk-opening limit (None: store.bundle_limit decides)
    image_url: str | None = None

    def layout(self) -> dict[str, Any]:
        return {
            "tiers": [{"tier_id": tier_id, "name": name} for tier_id, name in self.tiers],
            "slots": [{"count": count, "tiers": [[t, ppm] for t, ppm in tiers]} for count, tiers in self.slots],
        }

    def odds_table(self) -> dict[str, Any]:
        """Everything the draw depends on, and nothing else: its hash names the odds version."""
        return {
            **self.layout(),
            "items": [{"item_id": i.item_id, "tier_id": i.tier_id, "weight": i.weight} for i in self.items],
        }

    def odds_hash(self) -> str:
        return canonical_hash(self.odds_table())

    def definition_hash(self) -> str:
        return canonical_hash({
            "pack": [self.pack_id, self.name, self.description, self.status, self.prices, self.cards_per_pack,
                     self.supply_total, self.max_per_wallet, *([self.stripe_price_id] if self.stripe_price_id else []),
                     *([list(self.buyback)] if self.buyback else []),
                     *([{"supply_shards": self.supply_shards}] if self.supply_shards > 1 else []),
                     *([{"max_quantity": self.max_quantity}] if self.max_quantity is not None else []),
                     *([{"image_url": self.image_url}] if self.image_url else [])],
            "odds": self.odds_table(),
            "items": [[i.name, i.nft_id, i.rarity, i.fmv, i.stock, i.metadata, *([i.image_url] if i.image_url else [])]
                      for i in self.items],
        })


# --- validation --------------------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    return json.loads(resources.files("packvault").joinpath("schemas/catalog.schema.json").read_text())


def read_catalog_document(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError([f"{path}: no such file"]) from None
    except json.JSONDecodeError as exc:
        raise CatalogError([f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"]) from None


def read_catalog_file(path: str | Path) -> list[PackDefinition]:
    return parse_catalog(read_catalog_document(path))


@dataclass(frozen=True)
class BundleDefinition:
    bundle_id: str
    name: str
    credits: int
    status: str
    prices: dict[str, str]


def parse_bundles(document: Any) -> list[BundleDefinition]:
    """The catalog's credit bundles (validated with the rest of the document by parse_catalog)."""
    problems: list[str] = []
    bundles = [BundleDefinition(raw["bundle_id"], raw["name"], raw["credits"], raw["status"],
                                _parse_prices(raw["prices"], f"bundles[{raw['bundle_id']}].prices", problems))
               for raw in (document.get("bundles") or [])]
    problems += _duplicates((b.bundle_id for b in bundles), "bundles", "bundle_id")
    if problems:
        raise CatalogError(problems)
    return bundles


def load_catalog_file(path: str | Path) -> tuple[list[LoadResult], ...]:
    """Validate a whole catalog file (nothing is written if any part is wrong), then load its packs, its
    credit bundles, its game-credit top-up items and its entitlement products: their results, in that order."""
    from packvault.catalog.entitlements import load_entitlements, parse_entitlements

    document = read_catalog_document(path)
    packs = parse_catalog(document)
    bundles = parse_bundles(document)
    topups = parse_topups(document)
    entitlements = parse_entitlements(document)
    return load_catalog(packs), load_bundles(bundles), load_topups(topups), load_entitlements(entitlements)


def parse_topups(document: Any) -> list[store.TopupItemRecord]:
    """The catalog's game-credit items, one record each (validated with the document by parse_catalog); each
    game's user-data schema must itself be a valid JSON Schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    problems: list[str] = []
    items: list[store.TopupItemRecord] = []
    for game in document.get("topups") or []:
        where = f"topups[{game['game_id']}]"
        try:
            Draft202012Validator.check_schema(game["user_data_schema"])
        except SchemaError as exc:
            problems.append(f"{where}.user_data_schema: not a valid JSON Schema ({exc.message})")
        for raw in game["items"]:
            prices = _parse_prices(raw["prices"], f"{where}.items[{raw['item_id']}].prices", problems)
            items.append(store.TopupItemRecord(
                pk=store.topup_pk(raw["item_id"]), sk=store.TOPUP_SORT_KEY,
                gsi1sk=f"{game['game_id']}#{raw['item_id']}",
                item_id=raw["item_id"], game_id=game["game_id"], game_name=game["name"], name=raw["name"],
                denomination=raw["denomination"], prices=prices, status=game["status"],
                user_data_schema=game["user_data_schema"], updated_at=store.utc_now_iso()))
    problems += _duplicates((item.item_id for item in items), "topups[*].items", "item_id")
    if problems:
        raise CatalogError(problems)
    return items


def load_topups(items: list[store.TopupItemRecord]) -> list[LoadResult]:
    results = []
    for item in items:
        existing = store.get_topup_item(item.item_id)
        fields = lambda row: (row.game_id, row.game_name, row.name, int(row.denomination),  # noqa: E731
                              row.prices.as_dict() if hasattr(row.prices, "as_dict") else dict(row.prices),
                              row.status, row.user_data_schema)
        unchanged = existing is not None and fields(existing) == fields(item)
        if not unchanged:
            store.put_topup_item(item)
        results.append(LoadResult(item.item_id, "unchanged" if unchanged else ("updated" if existing else "created"),
                                  0))
    return results


def load_bundles(bundles: list[BundleDefinition]) -> list[LoadResult]:
    results = []
    for bundle in bundles:
        existing = store.get_bundle(bundle.bundle_id)
        unchanged = existing is not None and (existing.name, int(existing.credits), existing.status,
                                              existing.prices.as_dict()) == (bundle.name, bundle.credits,
                                                                             bundle.status, bundle.prices)
        if not unchanged:
            store.put_bundle(store.BundleRecord(pk=store.bundle_pk(bundle.bundle_id), sk=store.BUNDLE_SORT_KEY,
                                                gsi1sk=bundle.bundle_id, bundle_id=bundle.bundle_id, name=bundle.name,
                                                credits=bundle.credits, status=bundle.status, prices=bundle.prices,
                                                updated_at=store.utc_now_iso()))
        results.append(LoadResult(bundle.bundle_id, "unchanged" if unchanged else
                                  ("updated" if existing else "created"), 0))
    return results


def parse_catalog(document: Any) -> list[PackDefinition]:
    """Every problem at once, in words, located by pack, tier and item ids: the schema's findings, and the
    rules across fields for every pack the schema found nothing wrong with."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"{_field_path(e.absolute_path, document)}: {_in_words(e)}" for e in errors]
    if not isinstance(document, dict) or not isinstance(document.get("packs"), list):
        raise CatalogError(problems or ["(document): must be an object with a 'packs' list"])
    broken = {e.absolute_path[1] for e in errors if len(e.absolute_path) > 1 and e.absolute_path[0] == "packs"}
    packs = [_parse_pack(raw, _pack_where(raw, n), problems) for n, raw in enumerate(document["packs"])
             if n not in broken]
    problems += _duplicates((p.pack_id for p in packs), "packs", "pack_id")
    if problems:
        raise CatalogError(problems)
    return packs


_PATTERN_WORDS = {
    "decimal": "must be a plain non-negative decimal such as \"0.05\" (no sign, no exponent)",
    "probability": "must be a probability between 0 and 1 with at most 6 decimal places, such as \"0.125\"",
    "id": "must be 1-64 letters, digits, '-' or '_'",
}


def _in_words(error: Any) -> str:
    """A schema error as a person would say it (the regular expression itself helps nobody)."""
    if error.validator == "pattern":
        definitions = schema()["$defs"]
        for name, words in _PATTERN_WORDS.items():
            if definitions.get(name, {}).get("pattern") == error.schema.get("pattern"):
                return f"{error.instance!r} {words}"
        return f"{error.instance!r} does not have the expected form"
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field(s)")
    return error.message


def _pack_where(raw: Any, index: int) -> str:
    pack_id = raw.get("pack_id") if isinstance(raw, dict) else None
    return f"packs[{pack_id}]" if isinstance(pack_id, str) and pack_id else f"packs[{index}]"


def _field_path(path: Iterable[Any], document: Any = None) -> str:
    """packs[genesis-drop].tiers[rare].items[ember].fmv rather than packs[1].tiers[2].items[0].fmv."""
    parts, node = [], document
    for part in path:
        if isinstance(part, int):
            child = node[part] if isinstance(node, list) and part < len(node) else None
            name = next((child[key] for key in ("pack_id", "tier_id", "item_id")
                         if isinstance(child, dict) and isinstance(child.get(key), str) and child.get(key)), None)
            parts.append(f"[{name if name is not None else part}]")
            node = child
        else:
            parts.append(f".{part}")
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts).lstrip(".") or "(document)"


def _duplicates(values: Iterable[str], where: str, name: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for value in values:
        if value in seen:
            problems.append(f"{where}: {name} {value!r} appears more than once")
        seen.add(value)
    return problems


def _parse_pack(raw: dict[str, Any], where: str, problems: list[str]) -> PackDefinition:
    prices = _parse_prices(raw["prices"], f"{where}.prices", problems)
    if "stripe_price_id" in raw and "USD" not in prices:
        problems.append(f"{where}.stripe_price_id: a Stripe Price needs a USD price beside it")
    tiers = tuple((t["tier_id"], t["name"]) for t in raw["tiers"])
    problems += _duplicates((t for t, _ in tiers), f"{where}.tiers", "tier_id")
    items = tuple(
        ItemDefinition(
            item_id=i["item_id"], tier_id=t["tier_id"], name=i["name"], nft_id=i["nft_id"], rarity=i["rarity"],
            fmv=money.canonical_decimal(i["fmv"], money.FMV_DECIMALS), weight=i["weight"], stock=i.get("stock"),
            metadata=i.get("metadata"), image_url=i.get("image_url"),
        )
        for t in raw["tiers"]
        for i in t["items"]
    )
    problems += _duplicates((i.item_id for i in items), f"{where}.tiers[*].items", "item_id")
    slots = _parse_slots(raw, where, problems)
    cards = sum(count for count, _ in slots)
    if "cards_per_pack" in raw and "slots" in raw and raw["cards_per_pack"] != cards:
        problems.append(f"{where}.cards_per_pack: {raw['cards_per_pack']} differs from the slots' total count {cards}")
    if cards > MAX_CARDS_PER_PACK:
        problems.append(f"{where}.slots: {cards} cards per pack is more than {MAX_CARDS_PER_PACK}, the most one "
                        "DynamoDB transaction (100 rows) can open")
    _check_reachable_tiers(slots, items, where, problems)
    finite = sum(1 for item in items if item.stock is not None)
    if raw.get("max_quantity") is not None and raw["max_quantity"] > store.bundle_limit(cards, finite):
        problems.append(f"{where}.max_quantity: a pack with finite-stock items opens one at a time" if finite else
                        f"{where}.max_quantity: opening {raw['max_quantity']} packs of {cards} items at once needs "
                        f"{store.open_actions(raw['max_quantity'], cards, finite)} writes, more than one DynamoDB "
                        f"transaction holds (100); at most {store.bundle_limit(cards, finite)}")
    supply = raw.get("supply")
    _check_stock_covers_supply(slots, items, supply["total"] if supply else None, where, problems)
    return PackDefinition(
        pack_id=raw["pack_id"], name=raw["name"], description=raw.get("description"), status=raw["status"],
        prices=prices, cards_per_pack=cards, supply_total=supply["total"] if supply else None,
        supply_shards=supply.get("shards", 1) if supply else 1, max_per_wallet=raw.get("max_per_wallet"),
        stripe_price_id=raw.get("stripe_price_id"), max_quantity=raw.get("max_quantity"),
        image_url=raw.get("image_url"),
        buyback=(money.basis_points(raw["buyback"]["rate"]), raw["buyback"].get("window_hours", 72))
        if raw.get("buyback") else None,
        tiers=tiers, slots=slots, items=items,
    )


def _parse_prices(raw: dict[str, str], where: str, problems: list[str]) -> dict[str, str]:
    prices = {}
    for symbol, amount in raw.items():
        try:
            unit = money.currency(symbol)
            base_units = money.to_base_units(amount, unit.decimals)
        except money.MoneyFormatError as exc:
            problems.append(f"{where}.{symbol}: {exc}")
            continue
        if base_units <= 0:
            problems.append(f"{where}.{symbol}: a price must be greater than 0")
            continue
        prices[unit.symbol] = money.from_base_units(base_units, unit.decimals)
    return prices


def _parse_slots(raw: dict[str, Any], where: str, problems: list[str]) -> tuple[SlotSpec, ...]:
    tier_ids = {t["tier_id"] for t in raw["tiers"]}
    if "slots" not in raw:
        missing = [t["tier_id"] for t in raw["tiers"] if "probability" not in t]
        if missing:
            problems.append(f"{where}.tiers: without slots every tier needs a probability "
                            f"(missing: {', '.join(missing)})")
            return ()
        tier_ppm = tuple((t["tier_id"], probability_to_ppm(t["probability"])) for t in raw["tiers"])
        _check_sums_to_one(tier_ppm, f"{where}.tiers[*].probability", problems)
        return ((raw.get("cards_per_pack", 1), tier_ppm),)
    with_probability = [t["tier_id"] for t in raw["tiers"] if "probability" in t]
    if with_probability:
        problems.append(f"{where}.tiers: with slots, probabilities belong to the slots, not to tiers "
                        f"({', '.join(with_probability)})")
    slots = []
    for n, slot in enumerate(raw["slots"]):
        tier_ppm = tuple((tier_id, probability_to_ppm(p)) for tier_id, p in slot["tiers"].items())
        unknown = [tier_id for tier_id, _ in tier_ppm if tier_id not in tier_ids]
        if unknown:
            problems.append(f"{where}.slots[{n}].tiers: unknown tier {', '.join(unknown)}")
        _check_sums_to_one(tier_ppm, f"{where}.slots[{n}].tiers", problems)
        slots.append((slot["count"], tier_ppm))
    return tuple(slots)


def _check_sums_to_one(tier_ppm: tuple[tuple[str, int], ...], where: str, problems: list[str]) -> None:
    total = sum(ppm for _, ppm in tier_ppm)
    if total != PPM:
        problems.append(f"{where}: probabilities sum to {money.from_base_units(total, 6)}, not exactly 1")


def _check_reachable_tiers(slots: Any, items: tuple[ItemDefinition, ...], where: str, problems: list[str]) -> None:
    weighted = {i.tier_id for i in items if i.weight > 0}
    reachable = {tier_id for _, tier_ppm in slots for tier_id, ppm in tier_ppm if ppm > 0}
    for tier_id in sorted(reachable - weighted):
        problems.append(f"{where}.tiers: tier {tier_id!r} has a non-zero probability but no item with weight > 0")


def _check_stock_covers_supply(slots: Any, items: tuple[ItemDefinition, ...], supply: int | None, where: str,
                               problems: list[str]) -> None:
    """Every pack sold must be openable: a slot whose tiers hold only finite-stock items can run dry, so the
    pack's supply must be limited to what that stock can fill."""
    unlimited_tiers = {i.tier_id for i in items if i.weight > 0 and i.stock is None}
    finite_cards, finite_tiers = 0, set()
    for count, tier_ppm in slots:
        tiers = {tier_id for tier_id, ppm in tier_ppm if ppm > 0}
        if not tiers & unlimited_tiers:
            finite_cards += count
            finite_tiers |= tiers
    if not finite_cards:
        return
    stock_in = lambda tiers: sum(i.stock or 0 for i in items if i.tier_id in tiers and i.weight > 0)  # noqa: E731
    stock = stock_in(finite_tiers)
    most = stock // finite_cards
    for count, tier_ppm in slots:  # each slot on its own, too: another slot's stock cannot fill it
        tiers = {tier_id for tier_id, ppm in tier_ppm if ppm > 0}
        if not tiers & unlimited_tiers:
            most = min(most, stock_in(tiers) // count)
    if supply is None or supply > most:
        problems.append(f"{where}.supply: its items can run out ({stock} units for {finite_cards} finite-stock "
                        f"card(s) per pack), so supply.total must be set to at most {most}")


def pack_document(pack_id: str) -> tuple[dict[str, Any], str] | None:
    """A stored pack as a catalog-file pack (what `parse_catalog` reads back to the same definition hash), and
    that hash; None if there is no such pack. Retired items are history, not part of the definition."""
    pack = store.get_pack(pack_id)
    if pack is None:
        return None
    order = {entry["item_id"]: n for n, entry in
             enumerate((store.odds_table(pack_id, int(pack.odds_version)) or {}).get("items", []))}
    items = sorted((row for row in store.pack_items(pack_id, consistent=True) if not row.retired),
                   key=lambda row: order.get(row.item_id, len(order)))  # the order the odds were hashed in
    layout = pack.layout
    document: dict[str, Any] = {"pack_id": pack.pack_id, "name": pack.name, "status": pack.status,
                                "prices": pack.prices.as_dict()}
    if pack.description:
        document["description"] = pack.description
    if pack.supply_total is not None:
        document["supply"] = {"total": int(pack.supply_total)}
        if store.shard_count(pack) > 1:
            document["supply"]["shards"] = store.shard_count(pack)
    if pack.max_per_wallet is not None:
        document["max_per_wallet"] = int(pack.max_per_wallet)
    if pack.max_quantity is not None:
        document["max_quantity"] = int(pack.max_quantity)
    if pack.image_url:
        document["image_url"] = pack.image_url
    if pack.stripe_price_id:
        document["stripe_price_id"] = pack.stripe_price_id
    if pack.buyback_bp is not None:
        document["buyback"] = {"rate": money.from_base_units(int(pack.buyback_bp), 4),
                               "window_hours": int(pack.buyback_hours or 0)}
    document["tiers"] = [{"tier_id": tier["tier_id"], "name": tier["name"],
                          "items": [_item_document(row) for row in items if row.tier_id == tier["tier_id"]]}
                         for tier in layout["tiers"]]
    slots, tier_ids = layout["slots"], [tier["tier_id"] for tier in layout["tiers"]]
    if len(slots) == 1 and [tier_id for tier_id, _ in slots[0]["tiers"]] == tier_ids:
        # The simple form a file without slots has: one probability per tier, cards_per_pack identical draws.
        document["cards_per_pack"] = slots[0]["count"]
        for tier, (_, ppm) in zip(document["tiers"], slots[0]["tiers"], strict=True):
            tier["probability"] = money.from_base_units(ppm, 6)
    else:
        document["slots"] = [{"count": slot["count"], "tiers": {tier_id: money.from_base_units(ppm, 6)
                                                                 for tier_id, ppm in slot["tiers"]}}
                             for slot in slots]
    return document, pack.definition_hash


def _item_document(row: store.PackItemRecord) -> dict[str, Any]:
    item: dict[str, Any] = {"item_id": row.item_id, "name": row.name, "nft_id": row.nft_id, "rarity": row.rarity,
                            "fmv": row.fmv, "weight": int(row.weight)}
    if row.stock_total is not None:
        item["stock"] = int(row.stock_total)
    if row.metadata is not None:
        item["metadata"] = row.metadata
    if row.image_url:
        item["image_url"] = row.image_url
    return item


# --- loading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    pack_id: str
    action: str  # created | updated | unchanged
    odds_version: int


def load_catalog(packs: list[PackDefinition]) -> list[LoadResult]:
    return [load_pack(pack) for pack in packs]


def load_pack(pack: PackDefinition, based_on: str | None = None) -> LoadResult:
    """Create or update one pack. `based_on`: the definition hash the caller's edit started from; if the pack
    changed since, nothing is written (CatalogError) rather than overwriting someone else's change."""
    definition_hash = pack.definition_hash()
    existing = store.get_pack(pack.pack_id)
    if existing is not None and existing.definition_hash == definition_hash:
        return LoadResult(pack.pack_id, "unchanged", int(existing.odds_version))
    if based_on is not None and (existing is None or existing.definition_hash != based_on):
        raise CatalogError([f"pack {pack.pack_id} changed while this edit was made; nothing was changed"])
    current_items = {row.item_id: row for row in store.pack_items(pack.pack_id, consistent=True)} \
        if existing is not None else {}
    withdrawn = _withdrawn(pack, current_items)
    if not withdrawn:
        return _write_pack_definition(pack, existing, definition_hash, current_items)
    token = secrets.token_hex(8)
    until = iso_millis(datetime.now(UTC) + timedelta(seconds=COMMITMENTS_LOCK_SECONDS))
    if not store.lock_commitments(pack.pack_id, token, until):
        raise CatalogError([f"pack {pack.pack_id}: {store.open_commitments(pack.pack_id)} open quote(s) committed to "
                            f"its stock, and this change withdraws {', '.join(withdrawn)}; a quote's committed units "
                            "cannot be taken away before it ends (docs/FAIRNESS.md 13.6). Load it again once they have "
                            "opened or expired. Nothing was changed."])
    try:
        return _write_pack_definition(pack, existing, definition_hash, current_items)
    finally:
        store.unlock_commitments(pack.pack_id, token)


COMMITMENTS_LOCK_SECONDS = 60  # a cut in progress holds new quotes of its pack off at most this long (if it dies)


def _withdrawn(pack: PackDefinition, current: dict[str, store.PackItemRecord]) -> list[str]:
    """What this definition takes away from what quotes commit to: an item's finite total lowered, an unlimited item
    made finite, an item removed ("crown 40 -> 0")."""
    new = {item.item_id: item for item in pack.items}
    found = []
    for item_id, row in current.items():
        if row.retired:
            continue
        old = None if row.stock_total is None else int(row.stock_total)
        if item_id not in new:
            found.append(f"{item_id} (removed)")
        elif new[item_id].stock is not None and (old is None or new[item_id].stock < old):
            found.append(f"{item_id} {'unlimited' if old is None else old} -> {new[item_id].stock}")
    return found


def _write_pack_definition(pack: PackDefinition, existing: store.PackRecord | None, definition_hash: str,
                           current_items: dict[str, store.PackItemRecord]) -> LoadResult:
    odds_hash = pack.odds_hash()
    odds_version = _odds_version_for(pack, existing, odds_hash)
    definitions = item_definitions.document(list(pack.items))
    items_hash = item_definitions.items_hash(definitions)
    store.put_item_definitions(pack.pack_id, items_hash, canonical_json(definitions))
    prior = _stock_state(pack.pack_id, existing, current_items)  # before the item rows move
    _load_items(pack, current_items)
    now = store.utc_now_iso()
    record = store.PackRecord(
        pk=store.pack_pk(pack.pack_id), sk=store.PACK_SORT_KEY, gsi1sk=pack.pack_id, pack_id=pack.pack_id,
        name=pack.name, description=pack.description, status=pack.status, prices=pack.prices,
        cards_per_pack=pack.cards_per_pack, layout=pack.layout(), supply_total=pack.supply_total,
        max_per_wallet=pack.max_per_wallet, stripe_price_id=pack.stripe_price_id,
        max_quantity=pack.max_quantity, image_url=pack.image_url,
        buyback_bp=pack.buyback[0] if pack.buyback else None, buyback_hours=pack.buyback[1] if pack.buyback else None,
        odds_version=odds_version, odds_hash=odds_hash, definition_hash=definition_hash,
        stock_totals={i.item_id: i.stock for i in pack.items if i.stock is not None}, items_hash=items_hash,
        supply_shards=pack.supply_shards if pack.supply_shards > 1 or _sharded(existing) else None,
        created_at=existing.created_at if existing else now, updated_at=now,
    )
    old_supply = existing.supply_total if existing is not None else None
    supply = store.CountedChange(int(old_supply) if old_supply is not None else None, pack.supply_total)
    changed = _changes(existing, record) if existing is not None else None
    for attempt in range(LINK_ATTEMPTS):
        link = _next_link(record, existing, int(old_supply) if old_supply is not None else None, prior)
        try:
            if record.supply_shards is not None:  # every shard row is written with the pack
                store.put_sharded_pack(record, existing, link, changed)
            else:
                store.put_pack(record, supply, existing.definition_hash if existing else None, link, changed)
            break
        except store.CounterConflict as exc:
            current = store.get_pack(pack.pack_id)
            if current is not None and current.definition_hash == definition_hash:  # a concurrent identical load won
                return LoadResult(pack.pack_id, "unchanged", int(current.odds_version))
            head = store.stock_head(pack.pack_id)
            moved = head is not None and (prior is None or int(head.seq) != int(prior["seq"]))
            if link is None or not moved or attempt + 1 == LINK_ATTEMPTS:
                raise CatalogError([f"{exc}; nothing was reset"]) from exc
            prior = head.as_state()  # an opening took units meanwhile: the load's link follows it
    return LoadResult(pack.pack_id, "updated" if existing else "created", odds_version)


LINK_ATTEMPTS = 5


def _stock_state(pack_id: str, existing: store.PackRecord | None,
                 current: dict[str, store.PackItemRecord]) -> dict[str, Any] | None:
    """The stock chain state a load's link follows: the head; for a pack loaded before v3 (no head yet), its last
    link with the units the item rows count; None for a new pack."""
    if existing is None:
        return None
    head = store.stock_head(pack_id)
    if head is not None:
        return head.as_state()
    counts = {item_id: (int(row.stock_total), int(row.stock_available or 0)) for item_id, row in current.items()
              if row.stock_total is not None and not row.retired}
    supply = int(existing.supply_total) if existing.supply_total is not None else None
    return stock_chain.uncounted_state(existing.stock_chain_seq, existing.stock_chain_head, supply, counts)


_COMPARED = {"name": "name", "description": "description", "status": "status", "cards_per_pack": "cards_per_pack",
             "supply_total": "supply_total", "max_per_wallet": "max_per_wallet",
             "max_quantity": "max_quantity", "image_url": "image_url", "stripe_price_id": "stripe_price_id",
             "buyback_bp": "buyback_bp", "buyback_hours": "buyback_hours", "odds_hash": "odds", "items_hash": "items"}


def _changes(existing: store.PackRecord, record: store.PackRecord) -> dict[str, Any]:
    """What a new definition changes of a pack ({field: {from, to}}), for its PACK_UPDATED event."""
    def plain(value: Any) -> Any:
        value = value.as_dict() if hasattr(value, "as_dict") else value
        return int(value) if isinstance(value, float | Decimal) and value == int(value) else value

    changed = {label: {"from": plain(getattr(existing, name)), "to": plain(getattr(record, name))}
               for name, label in _COMPARED.items() if plain(getattr(existing, name)) != plain(getattr(record, name))}
    if plain(existing.prices) != plain(record.prices):
        changed["prices"] = {"from": plain(existing.prices), "to": plain(record.prices)}
    if plain(existing.stock_totals) != plain(record.stock_totals):
        changed["stock"] = {"from": plain(existing.stock_totals), "to": plain(record.stock_totals)}
    return changed or {"definition": {"from": existing.definition_hash, "to": record.definition_hash}}


def _sharded(existing: store.PackRecord | None) -> bool:
    """The pack has (or had) supply shard rows: every change to it goes through them."""
    return existing is not None and store.shard_rows(existing) > 1


def _next_link(record: store.PackRecord, existing: store.PackRecord | None, old_supply: int | None,
               prior: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stock history chain's next link when this load changes what quotes commit to, else None: it follows
    `prior` and counts the units left after the change (FAIRNESS.md 13.10)."""
    totals = {k: int(v) for k, v in (record.stock_totals or {}).items()}
    first = existing is None or existing.stock_chain_seq is None
    previous = {k: int(v) for k, v in ((existing.stock_totals if existing else None) or {}).items()}
    if not stock_chain.changed(previous, old_supply, totals, record.supply_total, first):
        return None
    try:
        return stock_chain.load_link(prior, record.pack_id, totals,
                                     int(record.supply_total) if record.supply_total is not None else None,
                                     record.updated_at)
    except ValueError as exc:
        raise CatalogError([f"pack {record.pack_id}: {exc}; nothing was changed"]) from exc


def _odds_version_for(pack: PackDefinition, existing: store.PackRecord | None, odds_hash: str) -> int:
    if existing is not None and existing.odds_hash == odds_hash:
        return int(existing.odds_version)
    latest = store.latest_odds_version(pack.pack_id)
    version = latest[0] if latest and latest[1] == odds_hash else (latest[0] + 1 if latest else 1)
    store.put_odds_version(pack.pack_id, version, odds_hash, pack.odds_table())
    return version


def _load_items(pack: PackDefinition, current: dict[str, store.PackItemRecord]) -> None:
    existing = dict(current)
    for item in pack.items:
        record = store.PackItemRecord(
            pk=store.pack_pk(pack.pack_id), sk=f"{store.ITEM_PREFIX}{item.item_id}", pack_id=pack.pack_id,
            item_id=item.item_id, tier_id=item.tier_id, name=item.name, nft_id=item.nft_id, rarity=item.rarity,
            fmv=item.fmv, weight=item.weight, stock_total=item.stock, metadata=item.metadata, image_url=item.image_url,
        )
        current = existing.pop(item.item_id, None)
        if current is None or _item_changed(current, item):
            try:
                store.put_pack_item(record, current)
            except store.CounterConflict as exc:
                now_stored = store.get_pack_item(pack.pack_id, item.item_id)
                if now_stored is None or _item_changed(now_stored, item):  # not a concurrent identical load
                    raise CatalogError([f"pack {pack.pack_id}: {exc}"]) from exc
    for leftover in existing.values():
        if not leftover.retired:
            store.retire_pack_item(leftover)


def _item_changed(row: store.PackItemRecord, item: ItemDefinition) -> bool:
    stored = (row.tier_id, row.name, row.nft_id, row.rarity, row.fmv, int(row.weight),
              None if row.stock_total is None else int(row.stock_total), row.metadata, row.image_url, bool(row.retired))
    return stored != (item.tier_id, item.name, item.nft_id, item.rarity, item.fmv, item.weight, item.stock,
                      item.metadata, item.image_url, False)
