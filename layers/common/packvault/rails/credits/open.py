"""Opening a pack from the credit balance, and the seed pairs that keep those draws provably fair.

There is no quote/payment gap to commit across, so fairness comes from a seed pair committed in advance
(docs/FAIRNESS.md section 8): the wallet's current server-seed hash is shown before any opening, the buyer sets
the client seed, and each opening uses the next nonce (its `draw_id` is `nonce:<n>`). Paying, drawing and
writing the items are one transaction (store.open_from_balance); a balance that does not cover the price
writes nothing and answers 402 with the balance and the price. Rotating the pair reveals its server seed.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import Settings
from packvault.core.settlement import CREDITS, Settlement
from packvault.core.times import iso_seconds
from packvault.fairness import primitives as fairness
from packvault.fairness import records, stock_chain
from packvault.fairness.draw import DrawInputs, NothingToDraw, draw_opening
from packvault.sales.reservation import (
    buyback_terms,
    check_pack_id,
    check_quantity,
    forget_pack,
    not_enough_left,
    purchasable_pack,
    quantity_field,
    read_quantity,
    recall,
    recheck_sharded_supply,
    supply_shard,
)
from packvault.sales.settle import (
    abandoned_round,
    found_short,
    odds_table,
    opening_changes,
    receipt,
    unit_row,
)
from packvault.sales.stock import committed_stock, moved_head, short_of, stock_link, stock_move, stock_state

OPERATION = "purchase"  # the same route as a Solana quote: one Idempotency-Key scope
ATTEMPTS = 6
_CLIENT_SEED = re.compile(r"^[\x20-\x7e]{1,64}$")


# --- seed pairs --------------------------------------------------------------------------------------


def seeds_view(wallet: str) -> dict[str, Any]:
    pair = _current_pair(wallet)
    view = {"server_seed_hash": pair.server_seed_hash, "client_seed": pair.client_seed,
            "next_nonce": int(pair.nonce), "pair": int(pair.pair_number)}
    if int(pair.pair_number) > 1 and (previous := store.revealed_pair(wallet, int(pair.pair_number) - 1)):
        view["previous"] = _revealed_view(previous)
    return view


def rotate(wallet: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reveal the current server seed and start a new pair (the buyer's client seed, or a random one)."""
    client_seed = body.get("client_seed")
    if client_seed is not None and not (isinstance(client_seed, str) and _CLIENT_SEED.match(client_seed)):
        raise PackvaultError(ErrorCode.INVALID_CLIENT_SEED, "client_seed must be 1-64 printable ASCII characters.")
    for _ in range(ATTEMPTS):
        pair = _current_pair(wallet)
        server_seed = fairness.new_server_seed()
        if store.rotate_pair(pair, server_seed, fairness.commitment(server_seed),
                             client_seed or secrets.token_hex(16)):
            return {**seeds_view(wallet), "revealed": _revealed_view(store.revealed_pair(wallet,
                                                                                          int(pair.pair_number)))}
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def revealed_seed(wallet: str, pair_number: int) -> str | None:
    pair = store.revealed_pair(wallet, pair_number)
    return pair.server_seed if pair is not None else None


def _current_pair(wallet: str) -> store.SeedPairRecord:
    pair = store.current_pair(wallet)
    if pair is None:
        server_seed = fairness.new_server_seed()
        pair = store.create_pair(wallet, server_seed, fairness.commitment(server_seed), secrets.token_hex(16))
    return pair


def _revealed_view(pair: store.SeedPairRecord | None) -> dict[str, Any] | None:
    if pair is None:
        return None
    return {"pair": int(pair.pair_number), "server_seed": pair.server_seed, "server_seed_hash": pair.server_seed_hash,
            "client_seed": pair.client_seed, "nonces_used": int(pair.nonce), "revealed_at": pair.revealed_at}


# --- opening from the balance ------------------------------------------------------------------------


def open_with_credits(settings: Settings, wallet: str, pack_id: str, body: dict[str, Any],
                      idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """(201, the receipt with the new balance). The same Idempotency-Key answers the same receipt."""
    check_pack_id(pack_id)
    if body.get("client_seed") is not None:
        raise PackvaultError(ErrorCode.INVALID_CLIENT_SEED, "A balance opening uses your seed pair: set its client "
                             "seed with POST /api/v1/me/seeds/rotate before opening.")
    quantity = read_quantity(body)
    request_hash = fairness.canonical_hash({"pack_id": pack_id, "currency": money.CREDIT.symbol,
                                            **quantity_field(quantity)})
    if (remembered := recall(wallet, OPERATION, idempotency_key, request_hash)) is not None:
        return int(remembered.status_code), remembered.response
    for attempt in range(ATTEMPTS):
        attempt_once = _attempt if quantity == 1 else _bundle_attempt(quantity)
        outcome = attempt_once(settings, wallet, pack_id, idempotency_key, request_hash)
        if outcome is not None:
            return outcome
        time.sleep(random.uniform(0, 0.01 * 2**attempt))  # the pair's nonce or the stock moved: read again
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def _attempt(settings: Settings, wallet: str, pack_id: str, idempotency_key: str | None,
             request_hash: str) -> tuple[int, dict[str, Any]] | None:
    pack = purchasable_pack(pack_id, money.CREDIT.symbol)
    price = money.to_base_units(pack.prices.as_dict()[money.CREDIT.symbol], 0)
    cap = int(pack.max_per_wallet) if pack.max_per_wallet is not None else None
    if cap is not None and store.wallet_pack_count(wallet, pack_id) >= cap:
        raise PackvaultError(ErrorCode.MINT_LIMIT_REACHED, f"One wallet may hold at most {cap} of this pack.",
                             limit=cap)
    balance = _require_balance(wallet, price)
    pair = _current_pair(wallet)
    opening = _new_opening(settings, wallet, pack, price, pair)
    opening.stock_committed = committed_at(pack, pair.created_at)
    table = odds_table(pack_id, int(pack.odds_version))
    round_number, retries, raced, abandoned, head = 0, 0, 0, [], None
    while round_number < MAX_ROUNDS and retries <= MAX_RETRIES:
        items = {row.item_id: row for row in store.pack_items(pack_id, consistent=True)}
        state = stock_state(pack_id, items, head)
        stock = committed_stock(opening, state, found_short(abandoned))
        draw_id = f"nonce:{int(pair.nonce)}"
        try:
            drawn = draw_opening(table, DrawInputs(pair.server_seed, pair.client_seed, draw_id, round_number), stock)
        except NothingToDraw:
            raise PackvaultError(ErrorCode.PACK_EXHAUSTED, "Nothing is left to draw in this pack; no credits were "
                                 "spent.") from None
        settlement = Settlement(CREDITS, opening.payment_id, {"rail": CREDITS, "posting_id": opening.payment_id,
                                                              "currency": "CREDIT", "received": str(price)})
        changes, vault_items, taken, fmv_micros = opening_changes(opening, settlement, pair.client_seed, round_number,
                                                                  stock, drawn, items)
        if short := short_of(opening, state, taken):  # a drawn unit the chain does not have: a redraw, on the record
            abandoned.append(abandoned_round(round_number, stock, short, drawn, state))
            round_number += 1
            continue
        changes["fairness"] = {**_seed_pair_proof(changes["fairness"], pair, draw_id), "version": 2,
                               "stock_committed": opening.stock_committed, "stock_committed_at": pair.created_at,
                               "abandoned_rounds": list(abandoned),
                               **({"stock_link": stock_link(state)} if state else {})}
        for name, value in changes.items():
            setattr(opening, name, value)
        # The balance after is exact (the debit is conditioned on the balance read), so a replay of the
        # Idempotency-Key answers exactly this, balance included.
        answer = {**receipt(opening), "balance": balance - price}
        remembered = (store.new_idempotency(wallet, OPERATION, idempotency_key, request_hash, 201, answer)
                      if idempotency_key is not None else None)
        try:
            store.open_from_balance(opening, vault_items, taken, fmv_micros, pair, cap, remembered,
                                    _request_token(wallet, opening.opening_id, round_number + 10 * (retries + raced)),
                                    pack.definition_hash,
                                    records.leaf_row(opening, changes["fairness"], changes["opened_at"], drawn,
                                                     changes["items"]),
                                    balance_before=balance,
                                    stock_move=stock_move(state, pack_id, opening.opening_id, taken,
                                                          changes["opened_at"]))
            return 201, answer
        except store.BalanceOpenFailed:
            head = moved_head(pack_id, state) if taken and raced < MAX_RACES else None
            if head is not None:  # another taker got there first (so the pack made progress): at once, at its head
                raced += 1
                time.sleep(random.uniform(0, min(0.01 * raced, 0.1)))
                continue
            if (again := recall(wallet, OPERATION, idempotency_key, request_hash)) is not None:
                return int(again.status_code), again.response
            forget_pack(pack_id)
            current_pack = store.get_pack(pack_id)
            if current_pack is None or current_pack.definition_hash != pack.definition_hash:
                return None  # the pack changed (price, odds, status): start again from what it is now
            balance = _require_balance(wallet, price)
            current = store.current_pair(wallet)
            if current is None or int(current.nonce) != int(pair.nonce) or current.pair_number != pair.pair_number:
                return None  # another opening (or a rotation) spent this nonce: start again with the next one
            if store.is_sharded(current_pack):  # SOLD_OUT, or the shards that still have a unit
                recheck_sharded_supply(pack_id, current_pack, money.CREDIT.symbol)
            opening.supply_shard = supply_shard(current_pack)
            retries += 1  # the stock chain's head, supply or a counter moved: the same round again, never hidden
            time.sleep(random.uniform(0, min(0.01 * 2 ** retries, 0.3)))
    return None


MAX_ROUNDS = 5
MAX_RETRIES = 8
MAX_RACES = 60  # draws again at a new stock chain head: each lost race is another opening's progress


def _bundle_attempt(quantity: int) -> Any:
    def attempt(settings: Settings, wallet: str, pack_id: str, idempotency_key: str | None,
                request_hash: str) -> tuple[int, dict[str, Any]] | None:
        return _open_bundle(settings, wallet, pack_id, quantity, idempotency_key, request_hash)
    return attempt


def _open_bundle(settings: Settings, wallet: str, pack_id: str, quantity: int, idempotency_key: str | None,
                 request_hash: str) -> tuple[int, dict[str, Any]] | None:
    """`quantity` packs from the balance in one transaction (FAIRNESS.md 12): unit i draws with the seed pair's
    nonce n+i, as its own opening; bundles are sold only for packs without finite stock (store.bundle_limit), so
    no unit redraws. None: something moved (the nonce, the balance, the pack): the caller reads again."""
    pack = purchasable_pack(pack_id, money.CREDIT.symbol)
    check_quantity(pack, quantity)
    unit_price = money.to_base_units(pack.prices.as_dict()[money.CREDIT.symbol], 0)
    cap = int(pack.max_per_wallet) if pack.max_per_wallet is not None else None
    if cap is not None and (held := store.wallet_pack_count(wallet, pack_id)) + quantity > cap:
        raise PackvaultError(ErrorCode.MINT_LIMIT_REACHED, f"One wallet may hold at most {cap} of this pack "
                             f"(this one holds {held}).", limit=cap, remaining=max(cap - held, 0))
    if pack.supply_total is not None and not store.is_sharded(pack) and int(pack.supply_available) < quantity:
        raise not_enough_left(int(pack.supply_available))
    balance = _require_balance(wallet, unit_price * quantity)
    pair = _current_pair(wallet)
    lead = _new_opening(settings, wallet, pack, unit_price * quantity, pair)
    lead.quantity = quantity
    lead.supply_shard = supply_shard(pack, quantity)
    table = odds_table(pack_id, int(pack.odds_version))
    items = {row.item_id: row for row in store.pack_items(pack_id, consistent=True)}
    state = stock_state(pack_id, items)
    stock = dict(state["left"]) if state else {}
    settlement = Settlement(CREDITS, lead.payment_id, {"rail": CREDITS, "posting_id": lead.payment_id,
                                                       "currency": "CREDIT", "received": str(unit_price * quantity)})
    ids = [fairness.unit_opening_id(lead.opening_id, index) for index in range(quantity)]
    lead.bundle_units = [{"opening_id": unit_id, "server_seed_hash": pair.server_seed_hash} for unit_id in ids[1:]]
    units = [lead] + [unit_row(lead, index, {"opening_id": ids[index], "server_seed": pair.server_seed,
                                             "server_seed_hash": pair.server_seed_hash})
                      for index in range(1, quantity)]
    vault, taken, fmv_micros, leaves = [], {}, 0, []
    for index, unit in enumerate(units):
        draw_id = f"nonce:{int(pair.nonce) + index}"
        try:
            drawn = draw_opening(table, DrawInputs(pair.server_seed, pair.client_seed, draw_id, 0), stock)
        except NothingToDraw:
            raise PackvaultError(ErrorCode.PACK_EXHAUSTED, "Nothing is left to draw in this pack; no credits were "
                                 "spent.") from None
        changes, unit_vault, unit_taken, unit_fmv = opening_changes(unit, settlement, pair.client_seed, 0, stock,
                                                                    drawn, items)
        proof = {**_seed_pair_proof(changes["fairness"], pair, draw_id), "nonce": int(pair.nonce) + index,
                 "version": 2, "stock_committed": {}, "abandoned_rounds": [],
                 **({"stock_link": stock_link(state)} if state else {})}
        changes |= {"fairness": proof | {"bundle": {"bundle_id": lead.opening_id, "index": index,
                                                    "quantity": quantity,
                                                    "server_seed_hashes": [pair.server_seed_hash] * quantity}},
                    "bundle_id": lead.opening_id, "unit_index": index}
        for name, value in changes.items():
            setattr(unit, name, value)
        leaves.append(records.leaf_row(unit, unit.fairness, unit.opened_at, drawn, unit.items))
        vault += unit_vault
        fmv_micros += unit_fmv
        for item_id, count in unit_taken.items():
            taken[item_id] = taken.get(item_id, 0) + count
    if short_of(lead, state, taken):  # the units draw from one count: more of a finite item than is left
        raise PackvaultError(ErrorCode.PACK_EXHAUSTED, "Not enough of a limited item is left for every pack; no "
                             "credits were spent.")
    answer = {**receipt(lead, units[1:]), "balance": balance - unit_price * quantity}
    remembered = (store.new_idempotency(wallet, OPERATION, idempotency_key, request_hash, 201, answer)
                  if idempotency_key is not None else None)
    try:
        store.open_from_balance(lead, vault, taken, fmv_micros, pair, cap, remembered,
                                _request_token(wallet, lead.opening_id), pack.definition_hash, leaves[0],
                                balance_before=balance, bundle=list(zip(units[1:], leaves[1:], strict=True)),
                                stock_move=stock_move(state, pack_id, lead.opening_id, taken, lead.opened_at))
    except store.BalanceOpenFailed:
        if (again := recall(wallet, OPERATION, idempotency_key, request_hash)) is not None:
            return int(again.status_code), again.response
        forget_pack(pack_id)
        if store.is_sharded(pack):  # SOLD_OUT, NOT_ENOUGH_LEFT, or the shards that still have the units
            recheck_sharded_supply(pack_id, pack, money.CREDIT.symbol, quantity)
        return None  # the nonce, the balance or the pack moved: read again
    return 201, answer


def _require_balance(wallet: str, price: int) -> int:
    """The balance, if it covers the price; 402 INSUFFICIENT_CREDITS otherwise."""
    balance = store.credit_balance(wallet)
    if balance < price:
        raise PackvaultError(ErrorCode.INSUFFICIENT_CREDITS, f"This pack costs {price} credits; your balance is "
                             f"{balance}.", balance=balance, price=price)
    return balance


def _new_opening(settings: Settings, wallet: str, pack: store.PackRecord, price: int,
                 pair: store.SeedPairRecord) -> store.OpeningRecord:
    opening_id = str(uuid.uuid4())
    now = store.utc_now_iso()
    return store.OpeningRecord(
        **store.opening_keys(opening_id, wallet, pack.pack_id, now), opening_id=opening_id, wallet=wallet,
        pack_id=pack.pack_id,
        pack_name=pack.name, cards_per_pack=int(pack.cards_per_pack), status="QUOTED", rail=CREDITS,
        currency=money.CREDIT.symbol, amount_base_units=str(price), quote_expires_at=iso_seconds(datetime.now(UTC)),
        server_seed=pair.server_seed, server_seed_hash=pair.server_seed_hash, client_seed=pair.client_seed,
        odds_version=int(pack.odds_version), odds_hash=pack.odds_hash, items_hash=pack.items_hash,
        limited_supply=pack.supply_total is not None,
        supply_shard=supply_shard(pack),
        mint_limited=pack.max_per_wallet is not None, payment_id=f"spend:{opening_id}",
        created_at=now, updated_at=now, **buyback_terms(settings, pack),
    )


def committed_at(pack: store.PackRecord, moment: str) -> dict[str, int]:
    """The finite stock a balance opening draws with (FAIRNESS.md 8): the pack's stock totals in force when the seed
    pair was made (`moment`), as its stock history chain records them, so a cut made after the pair's outcome was
    fixed is on the record as an abandoned round, never a silent change of odds. The chain is read once per container
    and chain version (one Query after a catalog change)."""
    totals = {item_id: int(total) for item_id, total in (pack.stock_totals or {}).items()}
    if not totals or pack.stock_chain_seq is None:  # nothing finite now, or no chain yet: the totals as they are
        return totals
    key = (pack.pack_id, int(pack.stock_chain_seq))  # a chain version is immutable: read once per container
    if key not in _CHAINS:
        _CHAINS[key] = store.stock_chain(pack.pack_id)
    state = stock_chain.state_at(_CHAINS[key], moment)
    if state is None:  # the pair is older than the chain: its first state is the earliest on the record
        return totals if not _CHAINS[key] else {k: int(v) for k, v in _CHAINS[key][0]["stock_totals"].items()}
    return {k: int(v) for k, v in state["stock_totals"].items()}


_CHAINS: dict[tuple[str, int], list[dict[str, Any]]] = {}


def _seed_pair_proof(proof: dict[str, Any], pair: store.SeedPairRecord, draw_id: str) -> dict[str, Any]:
    """The v1 proof with the seed pair's inputs; the server seed is published when the pair is rotated."""
    public = {key: value for key, value in proof.items() if key != "server_seed"}
    return {**public, "scheme": "seed-pair", "pair": int(pair.pair_number), "nonce": int(pair.nonce),
            "draw_id": draw_id, "server_seed": None}


def _request_token(wallet: str, opening_id: str, attempt: int = 0) -> str:
    """One token per attempt: a retry writes another draw (at a new head), never the same request again."""
    suffix = f"|{attempt}" if attempt else ""
    return hashlib.sha256(f"balance-open|{wallet}|{opening_id}{suffix}".encode()).hexdigest()[:36]
