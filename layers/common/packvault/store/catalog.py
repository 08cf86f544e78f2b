"""Packs, their items and their immutable odds versions; catalog loads move counters by delta."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.store.table import (
    ByKindIndex,
    EventRecord,
    Row,
    TableMeta,
    connection,
    is_condition_failure,
    new_event,
    register,
    utc_now_iso,
)

PACKS_LIST_KEY = "PACKS"


PACK_SORT_KEY = "PACK"


ITEM_PREFIX = "ITEM#"


ODDS_PREFIX = "ODDS#"


ITEMDEFS_PREFIX = "ITEMDEFS#"


def pack_pk(pack_id: str) -> str:
    return f"PACK#{pack_id}"


class PackRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=PACKS_LIST_KEY)
    gsi1sk = UnicodeAttribute()
    pack_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    prices = MapAttribute()  # currency symbol -> canonical decimal string
    cards_per_pack = NumberAttribute()
    layout = JSONAttribute()  # {"tiers": [...], "slots": [...]}: see catalog.PackDefinition.layout()
    supply_total = NumberAttribute(null=True)  # None: unlimited
    supply_available = NumberAttribute(null=True)
    supply_reserved = NumberAttribute(default=0)
    supply_sold = NumberAttribute(default=0)
    supply_shards = NumberAttribute(null=True)  # a limited pack's supply spread over this many shards (store.supply)
    supply_shard_rows = NumberAttribute(null=True)  # shard rows it has ever had (None: 1, the pack row)
    max_per_wallet = NumberAttribute(null=True)
    max_quantity = NumberAttribute(null=True)  # the catalog's bulk limit (None: store.bundle_limit decides)
    image_url = UnicodeAttribute(null=True)
    stripe_price_id = UnicodeAttribute(null=True)  # the Stripe Price behind the USD price, if any
    buyback_bp = NumberAttribute(null=True)  # instant buyback rate for this pack (None: the deployment default)
    buyback_hours = NumberAttribute(null=True)
    opened_count = NumberAttribute(default=0)
    stock_totals = JSONAttribute(null=True)  # {item_id: total} of finite-stock items: what a quote commits to
    items_hash = UnicodeAttribute(null=True)  # the item definitions version a quote commits to
    odds_version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    definition_hash = UnicodeAttribute()
    stock_chain_seq = NumberAttribute(null=True)  # the last link of the pack's stock history chain
    stock_chain_head = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class StockChainRecord(Row):
    """A link of a pack's stock history chain (packvault.stock_chain): PACK#<id> / STOCKCHAIN#<seq>."""

    class Meta(TableMeta):
        pass

    pack_id = UnicodeAttribute()
    seq = NumberAttribute()
    prev = UnicodeAttribute()
    stock_totals = JSONAttribute()
    supply_total = NumberAttribute(null=True)
    at = UnicodeAttribute()
    hash = UnicodeAttribute()
    kind = UnicodeAttribute(null=True)  # v3: "load" or "opening" (None: a v2 load link)
    left = JSONAttribute(null=True)  # v3: {item_id: units left} after this link
    opening_id = UnicodeAttribute(null=True)  # an opening link: the opening that took units
    taken = JSONAttribute(null=True)

    def as_link(self) -> dict[str, Any]:
        link = {"pack_id": self.pack_id, "seq": int(self.seq), "prev": self.prev,
                "stock_totals": {k: int(v) for k, v in (self.stock_totals or {}).items()},
                "supply_total": int(self.supply_total) if self.supply_total is not None else None, "at": self.at,
                "hash": self.hash}
        if self.kind:
            link |= {"kind": self.kind, "left": {k: int(v) for k, v in (self.left or {}).items()}}
        if self.kind == "opening":
            link |= {"opening_id": self.opening_id, "taken": {k: int(v) for k, v in (self.taken or {}).items()}}
        return link


STOCK_CHAIN_PREFIX = "STOCKCHAIN#"


class StockHeadRecord(Row):
    """The last link of a pack's stock chain and the state it leaves (PACK#<id> / STOCKHEAD): what an opening draws
    with (FAIRNESS.md 13.10). Every link is written with it, conditioned on the head it follows, so the chain has
    one order; the item rows' `stock_available` mirror it for the catalog views."""

    class Meta(TableMeta):
        pass

    seq = NumberAttribute()
    hash = UnicodeAttribute()
    stock_totals = JSONAttribute()
    supply_total = NumberAttribute(null=True)
    left = JSONAttribute()

    def as_state(self) -> dict[str, Any]:
        return {"seq": int(self.seq), "hash": self.hash,
                "stock_totals": {k: int(v) for k, v in (self.stock_totals or {}).items()},
                "supply_total": int(self.supply_total) if self.supply_total is not None else None,
                "left": {k: int(v) for k, v in (self.left or {}).items()}}


STOCK_HEAD_SORT_KEY = "STOCKHEAD"


@dataclass(frozen=True)
class StockMove:
    """What an opening that took finite units does to its pack's stock chain: `link` follows the state at
    `expected_seq` (None: the pack's head row was never written, a pack loaded before v3)."""

    expected_seq: int | None
    link: dict[str, Any] | None = None


class PackItemRecord(Row):
    class Meta(TableMeta):
        pass

    pack_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    tier_id = UnicodeAttribute()
    name = UnicodeAttribute()
    nft_id = UnicodeAttribute()
    rarity = UnicodeAttribute()
    fmv = UnicodeAttribute()  # canonical decimal string
    weight = NumberAttribute()
    stock_total = NumberAttribute(null=True)  # None: unlimited
    stock_available = NumberAttribute(null=True)
    metadata = JSONAttribute(null=True)
    image_url = UnicodeAttribute(null=True)  # https, or a file the storefront serves (/images/...)
    retired = BooleanAttribute(default=False)  # removed from the catalog file; kept for history


class OddsVersionRecord(Row):
    class Meta(TableMeta):
        pass

    pack_id = UnicodeAttribute()
    version = NumberAttribute()
    odds_hash = UnicodeAttribute()
    table_gz = BinaryAttribute(legacy_encoding=False)
    created_at = UnicodeAttribute()


class ItemDefinitionsRecord(Row):
    """An immutable version of a pack's item definitions (gzip canonical JSON), named by its hash."""

    class Meta(TableMeta):
        pass

    definitions_gz = BinaryAttribute(legacy_encoding=False)
    created_at = UnicodeAttribute()


def put_item_definitions(pack_id: str, hash_: str, document: bytes) -> None:
    """Written once per version (the same hash is the same document)."""
    row = ItemDefinitionsRecord(pk=pack_pk(pack_id), sk=f"{ITEMDEFS_PREFIX}{hash_}", created_at=utc_now_iso(),
                                definitions_gz=gzip.compress(document))
    try:
        row.save(condition=ItemDefinitionsRecord.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def item_definitions(pack_id: str, hash_: str) -> bytes | None:
    try:
        return ItemDefinitionsRecord.get(pack_pk(pack_id), f"{ITEMDEFS_PREFIX}{hash_}").definitions_gz
    except ItemDefinitionsRecord.DoesNotExist:
        return None


def get_pack_item(pack_id: str, item_id: str) -> PackItemRecord | None:
    try:
        return PackItemRecord.get(pack_pk(pack_id), f"{ITEM_PREFIX}{item_id}", consistent_read=True)
    except PackItemRecord.DoesNotExist:
        return None


def get_pack(pack_id: str) -> PackRecord | None:
    try:
        return PackRecord.get(pack_pk(pack_id), PACK_SORT_KEY, consistent_read=True)
    except PackRecord.DoesNotExist:
        return None


def list_packs() -> Iterator[PackRecord]:
    return PackRecord.by_kind.query(PACKS_LIST_KEY)


def pack_items(pack_id: str, consistent: bool = False) -> list[PackItemRecord]:
    return list(
        PackItemRecord.query(
            pack_pk(pack_id), PackItemRecord.sk.startswith(ITEM_PREFIX), consistent_read=consistent
        )
    )


def pack_items_by_id(pack_id: str, item_ids: list[str]) -> dict[str, PackItemRecord]:
    """Some of a pack's items, read fresh (strongly consistent) in one BatchGetItem per 100: what an opening needs of
    its finite stock, whatever the number of the pack's other items."""
    keys = [(pack_pk(pack_id), f"{ITEM_PREFIX}{item_id}") for item_id in item_ids]
    return {row.item_id: row for row in PackItemRecord.batch_get(keys, consistent_read=True)}


def odds_table(pack_id: str, version: int) -> dict[str, Any] | None:
    try:
        row = OddsVersionRecord.get(pack_pk(pack_id), f"{ODDS_PREFIX}{version:06d}", consistent_read=True)
    except OddsVersionRecord.DoesNotExist:
        return None
    return json.loads(gzip.decompress(row.table_gz))


@dataclass(frozen=True)
class CountedChange:
    """A finite counter's new total; the available count moves by the same delta, never below zero."""

    old_total: int | None
    new_total: int | None


class CounterConflict(RuntimeError):
    """A counter could not be changed as asked (it would go below zero, or changed underneath us)."""


def put_pack_item(item: PackItemRecord, existing: PackItemRecord | None) -> None:
    """Create or update an item row; finite stock moves by delta so units already drawn stay drawn."""
    stock = CountedChange(existing.stock_total if existing else None, item.stock_total)
    if existing is None:
        item.stock_available = item.stock_total
        try:
            item.save(condition=PackItemRecord.pk.does_not_exist())
        except PutError as exc:
            raise CounterConflict(f"item {item.item_id} was created concurrently") from exc
        return
    actions = [
        PackItemRecord.tier_id.set(item.tier_id),
        PackItemRecord.name.set(item.name),
        PackItemRecord.nft_id.set(item.nft_id),
        PackItemRecord.rarity.set(item.rarity),
        PackItemRecord.fmv.set(item.fmv),
        PackItemRecord.weight.set(item.weight),
        PackItemRecord.metadata.set(item.metadata) if item.metadata is not None else PackItemRecord.metadata.remove(),
        PackItemRecord.retired.set(False),
    ]
    actions += _counter_actions(PackItemRecord.stock_total, PackItemRecord.stock_available, existing, stock)
    condition = _counter_condition(PackItemRecord.stock_total, PackItemRecord.stock_available, stock)
    try:
        existing.update(actions=actions, condition=condition)
    except UpdateError as exc:
        raise CounterConflict(f"item {item.item_id}: stock cannot change from {stock.old_total} to "
                              f"{stock.new_total} (units already drawn, or changed concurrently)") from exc


def retire_pack_item(existing: PackItemRecord) -> None:
    existing.update(actions=[PackItemRecord.retired.set(True)])


def put_odds_version(pack_id: str, version: int, odds_hash: str, table: dict[str, Any]) -> None:
    """Odds versions are immutable: writing the same version twice with another hash fails."""
    row = OddsVersionRecord(
        pk=pack_pk(pack_id),
        sk=f"{ODDS_PREFIX}{version:06d}",
        pack_id=pack_id,
        version=version,
        odds_hash=odds_hash,
        table_gz=gzip.compress(json.dumps(table, sort_keys=True, separators=(",", ":")).encode()),
        created_at=utc_now_iso(),
    )
    try:
        row.save(condition=OddsVersionRecord.pk.does_not_exist() | (OddsVersionRecord.odds_hash == odds_hash))
    except PutError as exc:
        raise CounterConflict(f"pack {pack_id}: odds version {version} already exists with another hash") from exc


def put_pack(pack: PackRecord, supply: CountedChange, expected_definition_hash: str | None,
             chain_link: dict[str, Any] | None = None, changed: dict[str, Any] | None = None) -> None:
    """Create or update a pack row and append its event (and, when what quotes commit to changed, the next link of
    its stock history chain) in one transaction.

    The condition on the stored definition hash makes two concurrent loads of different files fail
    instead of interleaving; supply moves by delta and never resets what is reserved or sold.
    """
    event = pack_loaded_event(pack, supply.new_total, changed)
    try:
        _write_pack(pack, event, supply, expected_definition_hash, chain_link)
    except TransactWriteError as exc:
        raise CounterConflict(f"pack {pack.pack_id}: supply cannot go from {supply.old_total} to "
                              f"{supply.new_total} (packs already reserved or sold), or the pack changed "
                              "while loading") from exc


def _write_pack(pack: PackRecord, event: EventRecord, supply: CountedChange, expected_hash: str | None,
                chain_link: dict[str, Any] | None) -> None:
    with TransactWrite(connection=connection()) as transaction:
        save_chain_link(transaction, pack, chain_link)
        if expected_hash is None:
            pack.supply_available = supply.new_total
            transaction.save(pack, condition=PackRecord.pk.does_not_exist())
        else:
            actions = definition_actions(pack, chain_link)
            actions += _counter_actions(PackRecord.supply_total, PackRecord.supply_available, None, supply)
            condition = (PackRecord.definition_hash == expected_hash) & _counter_condition(
                PackRecord.supply_total, PackRecord.supply_available, supply
            )
            transaction.update(pack, actions=actions, condition=condition)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())


def pack_loaded_event(pack: PackRecord, supply_total: int | None, changed: dict[str, Any] | None) -> EventRecord:
    """The typed catalog event (seed 004 §2.3): PACK_CREATED (`changed` None), PACK_ACTIVATED / PACK_DEACTIVATED
    (only the status changed), else PACK_UPDATED with what changed ({field: {from, to}})."""
    if changed is None:
        event_type = "PACK_CREATED"
    elif set(changed) == {"status"}:
        event_type = "PACK_ACTIVATED" if pack.status == "ACTIVE" else "PACK_DEACTIVATED"
    else:
        event_type = "PACK_UPDATED"
    return new_event(pack.pk, event_type, {"definition_hash": pack.definition_hash, "status": pack.status,
                                           "odds_version": pack.odds_version, "supply_total": supply_total,
                                           **({"changed": changed} if changed else {}),
                                           **({"supply_shards": int(pack.supply_shards)}
                                              if pack.supply_shards else {})})


def save_chain_link(transaction: TransactWrite, pack: PackRecord, chain_link: dict[str, Any] | None) -> None:
    """The next link of the pack's stock history chain (when what quotes commit to changed), and its head."""
    if chain_link is None:
        return
    pack.stock_chain_seq, pack.stock_chain_head = chain_link["seq"], chain_link["hash"]
    _append_link(transaction, pack.pack_id, chain_link)


def _append_link(transaction: TransactWrite, pack_id: str, chain_link: dict[str, Any]) -> None:
    """A link and the head it makes, only after the link before it (each seq is written once)."""
    transaction.save(StockChainRecord(pk=pack_pk(pack_id), sk=f"{STOCK_CHAIN_PREFIX}{chain_link['seq']:08d}",
                                      **chain_link), condition=StockChainRecord.pk.does_not_exist())
    if chain_link.get("left") is None:  # a v2 link (tests that build old chains): no count to keep
        return
    head = StockHeadRecord(pk=pack_pk(pack_id), sk=STOCK_HEAD_SORT_KEY, seq=chain_link["seq"],
                           hash=chain_link["hash"], stock_totals=chain_link["stock_totals"],
                           supply_total=chain_link["supply_total"], left=chain_link["left"])
    transaction.save(head, condition=_follows(chain_link["seq"] - 1))


def _follows(seq: int | None) -> Any:
    """The head is still the state at `seq` (None: there is no head row yet)."""
    if seq is None:
        return StockHeadRecord.pk.does_not_exist()
    return StockHeadRecord.pk.does_not_exist() | (StockHeadRecord.seq == seq)


def move_stock(transaction: TransactWrite, pack_id: str, move: StockMove | None) -> None:
    """An opening's part of its pack's stock chain, in the open transaction: the link of the units it took."""
    if move is not None and move.link is not None:
        _append_link(transaction, pack_id, move.link)


def stock_heads() -> dict[str, dict[str, Any]]:
    """Every pack's stock chain head ({pack_id: {"seq", "hash"}}), for the hourly seal to commit to (FAIRNESS.md
    13.10): the pack list, then the heads in BatchGetItems of 100."""
    keys = [(pack.pk, STOCK_HEAD_SORT_KEY) for pack in list_packs()]
    return {row.pk.removeprefix("PACK#"): {"seq": int(row.seq), "hash": row.hash}
            for row in StockHeadRecord.batch_get(keys, consistent_read=True)}


def stock_head(pack_id: str) -> StockHeadRecord | None:
    """The pack's stock chain head (consistent: an opening draws with it)."""
    try:
        return StockHeadRecord.get(pack_pk(pack_id), STOCK_HEAD_SORT_KEY, consistent_read=True)
    except StockHeadRecord.DoesNotExist:
        return None


def definition_actions(pack: PackRecord, chain_link: dict[str, Any] | None) -> list[Any]:
    """The update of an existing pack row to a new definition (its supply counters apart)."""
    actions = [
        PackRecord.name.set(pack.name),
        PackRecord.status.set(pack.status),
        PackRecord.prices.set(pack.prices),
        PackRecord.cards_per_pack.set(pack.cards_per_pack),
        PackRecord.max_per_wallet.set(pack.max_per_wallet) if pack.max_per_wallet
        else PackRecord.max_per_wallet.remove(),
        PackRecord.max_quantity.set(pack.max_quantity) if pack.max_quantity else PackRecord.max_quantity.remove(),
        PackRecord.image_url.set(pack.image_url) if pack.image_url else PackRecord.image_url.remove(),
        PackRecord.stripe_price_id.set(pack.stripe_price_id) if pack.stripe_price_id
        else PackRecord.stripe_price_id.remove(),
        PackRecord.buyback_bp.set(pack.buyback_bp) if pack.buyback_bp is not None
        else PackRecord.buyback_bp.remove(),
        PackRecord.buyback_hours.set(pack.buyback_hours) if pack.buyback_hours is not None
        else PackRecord.buyback_hours.remove(),
        PackRecord.layout.set(pack.layout),
        PackRecord.stock_totals.set(pack.stock_totals),
        PackRecord.items_hash.set(pack.items_hash),
        PackRecord.odds_version.set(pack.odds_version),
        PackRecord.odds_hash.set(pack.odds_hash),
        PackRecord.definition_hash.set(pack.definition_hash),
        PackRecord.updated_at.set(pack.updated_at),
        PackRecord.description.set(pack.description) if pack.description else PackRecord.description.remove(),
    ]
    if chain_link is not None:
        actions += [PackRecord.stock_chain_seq.set(chain_link["seq"]),
                    PackRecord.stock_chain_head.set(chain_link["hash"])]
    return actions


def _counter_actions(total_attr: Any, available_attr: Any, existing: Any, change: CountedChange) -> list[Any]:
    if change.new_total is None:
        return [total_attr.remove(), available_attr.remove()]
    if change.old_total is None:
        # Finite from now on: what was unlimited starts with its full count available.
        return [total_attr.set(change.new_total), available_attr.set(change.new_total)]
    delta = change.new_total - change.old_total
    return [total_attr.set(change.new_total), available_attr.add(delta)]


def _counter_condition(total_attr: Any, available_attr: Any, change: CountedChange) -> Any:
    if change.old_total is None:
        return total_attr.does_not_exist()
    condition = total_attr == change.old_total
    delta = (change.new_total or 0) - change.old_total
    if change.new_total is not None and delta < 0:
        condition &= available_attr >= -delta
    return condition


def latest_odds_version(pack_id: str) -> tuple[int, str] | None:
    """(version, hash) of the newest odds version of a pack, or None."""
    rows = OddsVersionRecord.query(
        pack_pk(pack_id), OddsVersionRecord.sk.startswith(ODDS_PREFIX), scan_index_forward=False, limit=1,
        consistent_read=True,
    )
    for row in rows:
        return int(row.version), row.odds_hash
    return None


def stock_chain(pack_id: str) -> list[dict[str, Any]]:
    """A pack's stock history chain, oldest link first."""
    rows = StockChainRecord.query(pack_pk(pack_id), StockChainRecord.sk.startswith(STOCK_CHAIN_PREFIX),
                                  consistent_read=True)
    return [row.as_link() for row in rows]


class QuoteCommitmentsRecord(Row):
    """How many units of open quotes (QUOTED openings) committed to a pack's finite stock (FAIRNESS.md 13.6), and
    the short lock a catalog load takes before it withdraws stock: while any are open the cut is refused, and no
    quote committing the old totals can start while the cut is being written."""

    class Meta(TableMeta):
        pass

    open_quotes = NumberAttribute(null=True)
    lock_until = UnicodeAttribute(null=True)  # ISO time; a lock left by a load that died lapses by itself
    locked_by = UnicodeAttribute(null=True)


QUOTE_COMMITMENTS_SORT_KEY = "QUOTE_COMMITMENTS"


def _commitments_row(pack_id: str) -> QuoteCommitmentsRecord:
    return QuoteCommitmentsRecord(pk=pack_pk(pack_id), sk=QUOTE_COMMITMENTS_SORT_KEY)


def count_commitments(transaction: TransactWrite, pack_id: str, units: int, now: str | None = None,
                      mind_lock: bool = True) -> None:
    """In a reservation (`units` > 0: refused while a catalog load holds the lock; `now` the reservation's time; a
    paid quote reserved again does not mind it) or wherever an open quote ends (`units` < 0)."""
    row = _commitments_row(pack_id)
    if units > 0 and not mind_lock:
        condition = None
    elif units > 0:
        condition = QuoteCommitmentsRecord.lock_until.does_not_exist() | (
            QuoteCommitmentsRecord.lock_until < (now or utc_now_iso()))
    else:
        condition = QuoteCommitmentsRecord.open_quotes >= -units
    transaction.update(row, actions=[QuoteCommitmentsRecord.open_quotes.add(units)], condition=condition)


def open_commitments(pack_id: str) -> int:
    try:
        row = QuoteCommitmentsRecord.get(pack_pk(pack_id), QUOTE_COMMITMENTS_SORT_KEY, consistent_read=True)
    except QuoteCommitmentsRecord.DoesNotExist:
        return 0
    return int(row.open_quotes or 0)


def lock_commitments(pack_id: str, token: str, until: str) -> bool:
    """Take the pack's commitments lock until `until`, only while no open quote committed to its stock. False if one
    is open (or another load holds the lock)."""
    now = utc_now_iso()
    row = _commitments_row(pack_id)
    try:
        row.update(actions=[QuoteCommitmentsRecord.lock_until.set(until), QuoteCommitmentsRecord.locked_by.set(token)],
                   condition=(QuoteCommitmentsRecord.open_quotes.does_not_exist()
                              | (QuoteCommitmentsRecord.open_quotes == 0))
                   & (QuoteCommitmentsRecord.lock_until.does_not_exist() | (QuoteCommitmentsRecord.lock_until < now)))
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def unlock_commitments(pack_id: str, token: str) -> None:
    try:
        _commitments_row(pack_id).update(actions=[QuoteCommitmentsRecord.lock_until.remove(),
                                                  QuoteCommitmentsRecord.locked_by.remove()],
                                         condition=QuoteCommitmentsRecord.locked_by == token)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise  # a lock that lapsed and was taken by another load is theirs to release


register(PackRecord, PackItemRecord, OddsVersionRecord, ItemDefinitionsRecord, StockChainRecord, StockHeadRecord,
         QuoteCommitmentsRecord)


BUNDLES_LIST_KEY = "BUNDLES"
BUNDLE_SORT_KEY = "BUNDLE"


class BundleRecord(Row):
    """A credit bundle (a top-up): so many credits, priced per currency like a pack, bought through any rail."""

    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=BUNDLES_LIST_KEY)
    gsi1sk = UnicodeAttribute()
    bundle_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    credits = NumberAttribute()
    prices = MapAttribute()
    updated_at = UnicodeAttribute()


def bundle_pk(bundle_id: str) -> str:
    return f"BUNDLE#{bundle_id}"


def get_bundle(bundle_id: str) -> BundleRecord | None:
    try:
        return BundleRecord.get(bundle_pk(bundle_id), BUNDLE_SORT_KEY, consistent_read=True)
    except BundleRecord.DoesNotExist:
        return None


def list_bundles() -> list[BundleRecord]:
    return list(BundleRecord.by_kind.query(BUNDLES_LIST_KEY))


def put_bundle(bundle: BundleRecord) -> None:
    """Create or replace a bundle's terms (openings already quoted keep the credits and price they were quoted)."""
    event = new_event(bundle.pk, "BUNDLE_LOADED", {"credits": int(bundle.credits), "prices": bundle.prices.as_dict(),
                                                   "status": bundle.status})
    with TransactWrite(connection=connection()) as transaction:
        transaction.save(bundle)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())


register(BundleRecord)
