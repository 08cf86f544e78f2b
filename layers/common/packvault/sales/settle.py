"""The one open path: whatever rail proved a payment, the pack opens here, in one DynamoDB transaction.

A rail hands over a `Settlement` (its own payment id, what it found, its references). Opening draws the
items (provably fair, redrawn with the next round only when a drawn unit is truly gone, and then on the
record), then writes QUOTED ->
OPENED with the vault items, stock, supply, the payment claim and the event, all or nothing. A payment that
cannot open its pack (expired without supply, nothing left to draw) is recorded as REFUND_DUE, never lost.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from types import SimpleNamespace
from typing import Any

from packvault import store
from packvault.catalog import item_definitions
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settlement import SOLANA, Settlement
from packvault.fairness import records
from packvault.fairness.draw import DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.fairness.primitives import draw_client_seed, version_of
from packvault.fairness.quote_signing import ENTROPY_SOURCES
from packvault.sales import endings, products  # noqa: F401 (endings registers with the store)
from packvault.sales.openings import opening_view
from packvault.sales.stock import committed_stock, moved_head, short_of, stock_link, stock_move, stock_state

MAX_ROUNDS = 5
MAX_RETRIES = 12  # the same round again after a transaction failed for another reason than a lost race
MAX_RACES = 60  # draws again at a new stock chain head: each lost race is another opening's progress
_VAULT_NAMESPACE = uuid.UUID("6f1c6a52-3a8e-4d55-9d0e-8f0b7c1e2a11")
_ODDS_TABLES: dict[tuple[str, int], OddsTable] = {}


def receipt(opening: store.OpeningRecord, units: list[store.OpeningRecord] | None = None) -> dict[str, Any]:
    """What opening answers. A bundle's lead also answers every unit (`units`: the others, read if not given)."""
    view = opening_view(opening)
    answer = {key: view[key] for key in ("opening_id", "pack_id", "status", "rail", "tx_signature", "opened_at",
                                         "items", "fairness")} | {"payment": opening.payment}
    if opening.product == "credits":
        answer |= {"product": "credits", "credits": int(opening.credits)}
    if store.units_of(opening) > 1 and opening.status == "OPENED":
        if units is None:
            found = store.get_openings([unit["opening_id"] for unit in opening.bundle_units])
            units = [found[unit["opening_id"]] for unit in opening.bundle_units if unit["opening_id"] in found]
        answer["bundle"] = {"bundle_id": opening.opening_id, "quantity": store.units_of(opening),
                            "openings": [_unit_receipt(unit) for unit in [opening, *units]]}
    answer |= products.view_fields(opening, "receipt")
    if opening.product == "pack" and (recorded := records.record_receipt(opening)) is not None:
        answer["record_receipt"] = recorded  # keep it: the public record must agree with it (FAIRNESS.md 13.5)
    return answer


def _unit_receipt(unit: store.OpeningRecord) -> dict[str, Any]:
    return {"opening_id": unit.opening_id, "unit_index": int(unit.unit_index or 0), "opened_at": unit.opened_at,
            "items": unit.items or [], "fairness": unit.fairness, "record_receipt": records.record_receipt(unit)}


def open_paid(opening: store.OpeningRecord, settlement: Settlement, client_seed: str | None = None,
              marker: store.ProcessedEventRecord | None = None) -> dict[str, Any]:
    """Draw and open a QUOTED opening paid by `settlement`; the receipt. Concurrent or repeated calls for
    one opening all get the same items. `marker` records the outside event that caused it, with it. A paid
    top-up (a bundle of credits) posts its credits instead of drawing."""
    if opening.product == "credits":
        return _credit_topup(opening, settlement, marker)
    if opening.product != "pack":  # a product that registered how it is fulfilled (sales.products)
        return products.kind(opening.product).fulfil(opening, settlement, marker)
    seed = draw_client_seed(opening, settlement.payment_id, settlement.entropy, client_seed)
    if seed is None:  # v3 never draws with a value we created (FAIRNESS.md 13.1): the money is kept for a refund
        return _nothing_to_draw(opening, settlement, marker, "paid outside the buyer's approved payment: nothing the "
                                "buyer's side created to draw with")
    table = odds_table(opening.pack_id, int(opening.odds_version))
    if store.units_of(opening) > 1:
        return _open_bundle(opening, settlement, seed, table, marker)
    round_number, refreshed, retries, raced, abandoned, head = 0, False, 0, 0, [], None
    while round_number < MAX_ROUNDS:
        items, state, cached_hash = _items_for_draw(opening.pack_id, head)
        stock = committed_stock(opening, state, found_short(abandoned))
        try:
            drawn = draw_opening(table, DrawInputs(opening.server_seed, seed, opening.opening_id, round_number), stock)
        except NothingToDraw:
            return _nothing_to_draw(opening, settlement, marker)
        changes, vault_items, taken, fmv_micros = opening_changes(opening, settlement, seed, round_number, stock,
                                                                  drawn, items, abandoned, state)
        if short := short_of(opening, state, taken):  # a drawn unit the chain does not have: a redraw, on the record
            abandoned.append(abandoned_round(round_number, stock, short, drawn, state))
            round_number += 1
            continue
        try:
            leaf = records.leaf_row(opening, changes["fairness"], changes["opened_at"], drawn, changes["items"]) \
                if opening.stock_committed is not None else None
            store.open_opening(opening, changes, settlement, vault_items, taken, fmv_micros,
                               request_token(opening.opening_id, settlement, round_number + 10 * (retries + raced)),
                               marker,
                               cached_hash, leaf,
                               stock_move=stock_move(state, opening.pack_id, opening.opening_id, taken,
                                                     changes["opened_at"]))
            for name, value in changes.items():  # the receipt is what was just written; no re-read
                setattr(opening, name, value)
            return receipt(opening)
        except store.OpenFailed:
            head = moved_head(opening.pack_id, state) if taken and raced < MAX_RACES else None
            if head is not None:  # another taker got there first (so the pack made progress): at once, at its head
                raced += 1
                time.sleep(random.uniform(0, min(0.01 * raced, 0.1)))
                continue
            retries += 1
            current_row = store.get_opening(opening.opening_id)
            if current_row is not None and current_row.status == "OPENED":
                return receipt(current_row)  # a concurrent settlement opened it: same items for everyone
            claim = store.get_payment_claim(settlement.rail, settlement.payment_id)
            if claim is not None and claim.opening_id != opening.opening_id:
                raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
            if current_row is None or current_row.status != "QUOTED":
                raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
            if cached_hash is not None and not refreshed:
                _ITEMS.pop(opening.pack_id, None)  # the cached items may be stale: the same draw, fresh items
                refreshed = True
                continue
            # A counter or the definition moved: the same round again (at the head then, which the proof names);
            # never a hidden redraw.
            if retries > MAX_RETRIES:
                break
            time.sleep(random.uniform(0, min(0.02 * 2 ** retries, 0.4)))
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def abandoned_round(round_number: int, stock: dict[str, int], short: dict[str, dict[str, int]], drawn: list,
                    state: dict[str, Any] | None) -> dict[str, Any]:
    """An abandoned round as the proof publishes it (FAIRNESS.md 5, 13.4): its stock and draw, what was short, and
    (v3) the stock chain link whose state said so (13.10)."""
    return {"round": round_number, "stock": stock, "short": short,
            "items": [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn],
            **({"stock_link": stock_link(state)} if state else {})}


def _open_bundle(opening: store.OpeningRecord, settlement: Settlement, seed: str, table: OddsTable,
                 marker: store.ProcessedEventRecord | None) -> dict[str, Any]:
    """Every unit of a bundle opened in the one open transaction (FAIRNESS.md 12): each unit draws with its own
    committed server seed and opening id, round 0, the bundle's client seed, from the stock its earlier units
    left. Bundles are sold only for packs without finite stock (store.bundle_limit); should a catalog change have
    made an item finite since the quote and that stock run out, the payment is recorded for a refund (a later
    unit cannot redraw on the record without moving the others)."""
    units = [opening] + [unit_row(opening, index, unit) for index, unit in enumerate(opening.bundle_units, 1)]
    hashes = [unit.server_seed_hash for unit in units]
    for attempt in range(MAX_RETRIES):
        items, state, cached_hash = _items_for_draw(opening.pack_id)
        remaining = committed_stock(opening, state)
        opened, all_vault, taken, fmv_micros = [], [], {}, 0
        for index, unit in enumerate(units):
            try:
                drawn = draw_opening(table, DrawInputs(unit.server_seed, seed, unit.opening_id, 0), remaining)
            except NothingToDraw:
                return _nothing_to_draw(opening, settlement, marker)
            changes, vault_items, unit_taken, unit_fmv = opening_changes(unit, settlement, seed, 0, dict(remaining),
                                                                         drawn, items, None, state)
            changes["fairness"]["bundle"] = {"bundle_id": opening.opening_id, "index": index,
                                             "quantity": len(units), "server_seed_hashes": hashes}
            changes |= {"bundle_id": opening.opening_id, "unit_index": index}
            for item_id, count in unit_taken.items():
                remaining[item_id] -= count
                taken[item_id] = taken.get(item_id, 0) + count
            leaf = (records.leaf_row(unit, changes["fairness"], changes["opened_at"], drawn, changes["items"])
                    if opening.stock_committed is not None else None)
            opened.append((changes, leaf))
            all_vault += vault_items
            fmv_micros += unit_fmv
        if short_of(opening, state, taken):
            return _nothing_to_draw(opening, settlement, marker, "stock ran out after the bundle was quoted")
        for unit, (changes, _) in zip(units[1:], opened[1:], strict=True):
            for name, value in changes.items():
                setattr(unit, name, value)
        try:
            store.open_opening(opening, opened[0][0], settlement, all_vault, taken, fmv_micros,
                               request_token(opening.opening_id, settlement, attempt), marker, cached_hash,
                               opened[0][1], [(unit, leaf) for unit, (_, leaf) in zip(units[1:], opened[1:],
                                                                                       strict=True)],
                               stock_move=stock_move(state, opening.pack_id, opening.opening_id, taken,
                                                     opened[0][0]["opened_at"]))
        except store.OpenFailed:
            current_row = store.get_opening(opening.opening_id)
            if current_row is not None and current_row.status == "OPENED":
                return receipt(current_row)  # a concurrent settlement opened it: the same draws for everyone
            claim = store.get_payment_claim(settlement.rail, settlement.payment_id)
            if claim is not None and claim.opening_id != opening.opening_id:
                raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
            if current_row is None or current_row.status != "QUOTED":
                raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
            _ITEMS.pop(opening.pack_id, None)  # a stale cached definition, or the stock chain moved: read again
            time.sleep(random.uniform(0, min(0.02 * 2 ** attempt, 0.4)))
            continue
        for name, value in opened[0][0].items():
            setattr(opening, name, value)
        return receipt(opening, units[1:])
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def unit_row(lead: store.OpeningRecord, index: int, unit: dict[str, str]) -> store.OpeningRecord:
    """Unit `index` of a bundle as its own opening (written when the bundle opens): the lead's terms, its own id and
    committed server seed, its share of the price."""
    row = store.OpeningRecord(**store.opening_keys(unit["opening_id"], lead.wallet, lead.pack_id, lead.created_at))
    for name in ("wallet", "pack_id", "rail", "product", "buyback_bp", "buyback_hours", "pack_name", "cards_per_pack",
                 "currency", "payer_wallet", "quote_expires_at", "client_seed", "stock_committed", "items_hash",
                 "fairness_version", "odds_version", "odds_hash", "limited_supply", "supply_shard", "mint_limited",
                 "created_at"):
        setattr(row, name, getattr(lead, name))
    row.opening_id, row.status = unit["opening_id"], "QUOTED"
    row.server_seed, row.server_seed_hash = unit["server_seed"], unit["server_seed_hash"]
    row.amount_base_units = str(int(lead.amount_base_units) // store.units_of(lead))
    row.updated_at = lead.updated_at
    return row


def found_short(abandoned: list[dict[str, Any]]) -> dict[str, int]:
    """Each item an abandoned round found short, with the fewest units it was recorded to have left."""
    found: dict[str, int] = {}
    for past in abandoned:
        for item_id, short in past["short"].items():
            found[item_id] = min(found.get(item_id, short["available"]), short["available"])
    return found


def _credit_topup(opening: store.OpeningRecord, settlement: Settlement,
                  marker: store.ProcessedEventRecord | None) -> dict[str, Any]:
    now = store.utc_now_iso()
    changes = {"status": "OPENED", "opened_at": now, "updated_at": now, "payment_id": settlement.payment_id,
               "payment": settlement.details, "items": [], **dict(store.reference_fields(opening, settlement))}
    try:
        store.fulfil_topup(opening, changes, settlement, request_token(opening.opening_id, settlement, 0), marker)
    except store.OpenFailed:
        current = store.get_opening(opening.opening_id)
        if current is not None and current.status == "OPENED":
            return receipt(current)  # credited already (a concurrent or repeated settlement)
        claim = store.get_payment_claim(settlement.rail, settlement.payment_id)
        if claim is not None and claim.opening_id != opening.opening_id:
            raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
        raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
    for name, value in changes.items():
        setattr(opening, name, value)
    return receipt(opening)


def settle_expired(opening: store.OpeningRecord, settlement: Settlement, in_time: bool, honour: bool,
                   marker: store.ProcessedEventRecord | None = None) -> dict[str, Any] | None:
    """A payment found for an EXPIRED opening: made in time and the policy honours it -> re-reserve and open
    (the receipt); otherwise REFUND_DUE (None). Never dropped."""
    if in_time and honour and _re_reserve(opening):
        return open_paid(opening, settlement, None, marker)
    reason = "paid after the quote expired" if not in_time else "no supply left when the payment was found"
    store.mark_refund_due(opening, settlement, reason, marker)
    return None


def _re_reserve(opening: store.OpeningRecord) -> bool:
    """A unit reserved again for a payment made in time: in the shard it came from, else (a sharded pack) in
    any shard a snapshot finds one in."""
    if store.re_reserve(opening):
        return True
    if not opening.limited_supply:
        return False
    pack = store.get_pack(opening.pack_id)
    if pack is None or not store.is_sharded(pack):
        return False
    try:
        _, shards = store.supply_snapshot(pack.pack_id, store.shard_rows(pack))
    except store.SnapshotBusy:  # never REFUND_DUE for want of a read: the buyer's retry or the next sweep
        raise PackvaultError(ErrorCode.BUSY_RETRY) from None
    return any(store.re_reserve(opening, shard.shard) for shard in shards if shard.available > 0)


def opening_changes(opening: store.OpeningRecord, settlement: Settlement, seed: str, round_number: int,
                    stock: dict[str, int], drawn: list, items: dict[str, store.PackItemRecord],
                    abandoned: list[dict[str, Any]] | None = None, state: dict[str, Any] | None = None,
                    ) -> tuple[dict[str, Any], list[store.VaultItemRecord], dict[str, int], int]:
    """What opening writes: the opening's new fields (items revealed, the proof), its vault items, the stock
    each drawn finite item loses, and the fair value added to the vault."""
    opened_at = store.utc_now_iso()
    vault_items, taken, fmv_micros = [], {}, 0
    revealed = []
    promised = item_definitions.committed(opening.pack_id, opening.items_hash)  # v2: what the quote committed to
    for index, draw in enumerate(drawn):
        row = SimpleNamespace(**promised[draw.item_id]) if promised and draw.item_id in promised \
            else items[draw.item_id]
        vault_item_id = str(uuid.uuid5(_VAULT_NAMESPACE, f"{opening.opening_id}/{index}"))
        vault_items.append(store.new_vault_item(opening.wallet, opening, vault_item_id, row, opened_at))
        if draw.item_id in stock:
            taken[draw.item_id] = taken.get(draw.item_id, 0) + 1
        fmv_micros += money.to_base_units(row.fmv, money.FMV_DECIMALS)
        revealed.append({"vault_item_id": vault_item_id, "item_id": row.item_id, "nft_id": row.nft_id,
                         "name": row.name, "rarity": row.rarity, "tier_id": row.tier_id, "fmv": row.fmv,
                         "metadata": row.metadata, **({"image_url": row.image_url}
                                                      if getattr(row, "image_url", None) else {})})
    fairness = {"opening_id": opening.opening_id, "server_seed": opening.server_seed,
                "server_seed_hash": opening.server_seed_hash, "client_seed": seed, "round": round_number,
                "stock": stock, "odds_version": int(opening.odds_version), "odds_hash": opening.odds_hash,
                "items": [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn],
                "vault_item_ids": [item["vault_item_id"] for item in revealed]}  # the record binds the vault rows
    version = version_of(opening)
    if version >= 2:  # fairness v2: what the quote committed to, and every abandoned round
        fairness |= {"version": version, "stock_committed": opening.stock_committed,
                     "abandoned_rounds": list(abandoned or []), "items_hash": opening.items_hash}
    if state is not None:  # the stock chain link whose state the draw used (FAIRNESS.md 13.10)
        fairness["stock_link"] = stock_link(state)
    if version >= 3:  # v3: what the seed mixed in, and whether the payment named the quote on chain (13.1, 13.3)
        fairness["entropy"] = {"source": ENTROPY_SOURCES.get(opening.rail), "value": settlement.entropy}
        if opening.rail == SOLANA:
            fairness["commitment_on_chain"] = settlement.details.get("memo_found") is True
    changes = {"status": "OPENED", "opened_at": opened_at, "updated_at": opened_at,
               "payment_id": settlement.payment_id, "payment": settlement.details, "items": revealed,
               "fairness": fairness}
    if version < 3:  # v1/v2 kept the draw's client seed here; v3 keeps the purchase seed the commitment names
        changes["client_seed"] = seed
    changes.update(dict(store.reference_fields(opening, settlement)))
    return changes, vault_items, taken, fmv_micros


def _nothing_to_draw(opening: store.OpeningRecord, settlement: Settlement,
                     marker: store.ProcessedEventRecord | None, reason: str = "nothing left to draw") -> dict[str, Any]:
    if store.mark_refund_due(opening, settlement, reason, marker):
        raise PackvaultError(ErrorCode.PACK_EXHAUSTED)
    current = store.get_opening(opening.opening_id)
    if current is not None and current.status == "OPENED":
        return receipt(current)
    raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE)


_ITEMS: dict[str, tuple[dict[str, store.PackItemRecord], str]] = {}


def _items_for_draw(pack_id: str, head: store.StockHeadRecord | None = None,
                    ) -> tuple[dict[str, store.PackItemRecord], dict[str, Any] | None, str | None]:
    """(items by id, the stock chain state to draw at, the definition hash the open transaction must find unchanged).
    A pack's item definitions are cached per container (the transaction checks the pack's definition, which includes
    every stock total, is still the cached one); the stock comes from the chain's head, read fresh in one GetItem
    (sales.stock): an open costs the same whether the pack has 3 items or 10,000."""
    cached = _ITEMS.get(pack_id)
    if cached is None:
        pack = store.get_pack(pack_id)  # read before the items that are cached: a later catalog change fails the check
        items = {row.item_id: row for row in store.pack_items(pack_id, consistent=True)}
        if pack is None:
            return items, stock_state(pack_id, items, head), None
        cached = _ITEMS[pack_id] = (items, pack.definition_hash)
    items, definition_hash = cached
    return items, stock_state(pack_id, items, head), definition_hash


def odds_table(pack_id: str, version: int) -> OddsTable:
    """Odds versions are immutable, so a container reads each one once."""
    key = (pack_id, version)
    if key not in _ODDS_TABLES:
        document = store.odds_table(pack_id, version)
        if document is None:
            raise PackvaultError(ErrorCode.ODDS_VERSION_NOT_FOUND)
        _ODDS_TABLES[key] = OddsTable.from_document(document)
    return _ODDS_TABLES[key]


def request_token(opening_id: str, settlement: Settlement, round_number: int) -> str:
    return hashlib.sha256(f"open|{opening_id}|{settlement.claim_key}|{round_number}".encode()).hexdigest()[:36]
