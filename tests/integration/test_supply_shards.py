"""Sharded supply for a hot drop, on DynamoDB Local: exact sold-out across shards under concurrency, every way a
unit moves (reserve, open, expire, late payment, balance open) on the shard it belongs to, and supply changes that
spread units again without losing or inventing any, also while buyers are buying."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog import views as catalog
from packvault.catalog.loader import CatalogError, load_catalog, parse_catalog
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import admin
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.credits import open as balance_open
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG
from tests.faults import Faults, audit
from tests.integration.test_faults import until_it_answers

ADMIN = Keypair.generate().public_key


def hot_drop(total: int, shards: int, pack_id: str = "hot-drop") -> dict:
    """The demo's unlimited-item pack, sold as a limited drop over `shards` supply shards."""
    document = json.loads(DEMO_CATALOG.read_text())
    (pack,) = [copy.deepcopy(p) for p in document["packs"] if p["pack_id"] == "starter-unlimited"]
    pack.update(pack_id=pack_id, name="Hot drop", supply={"total": total, "shards": shards})
    return pack


def load(pack: dict) -> None:
    load_catalog(parse_catalog({"schema_version": 1, "packs": [pack]}))


@pytest.fixture
def settings(local_table, solana_node):
    return Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": Keypair.generate().public_key, "SOLANA_RPC_URLS": solana_node.url,
        "MAX_OPEN_QUOTES": "10", "EXPIRY_GRACE_SECONDS": "0"})


def attempt(call):
    try:
        return call()
    except PackvaultError as refused:
        return refused


def buy(settings, wallet=None, pack_id="hot-drop"):
    return purchase.purchase(settings, wallet or Keypair.generate().public_key, pack_id, {}, None)[1]


def paid_quote(settings, solana_node):
    """A buyer's quote of the hot drop, paid in full on the local node: (the buyer, the quote, the signature)."""
    wallet = RpcWallet(solana_node.url)
    payer = Keypair.generate()
    wallet.airdrop(payer.public_key, 2 * 10**9)
    quote = buy(settings, payer.public_key)
    signature = wallet.pay(solders_keypair(payer), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"])
    return payer, quote, signature


def shards(pack_id="hot-drop"):
    pack = store.get_pack(pack_id)
    return store.supply_snapshot(pack_id, store.shard_rows(pack))[1]


def test_64_concurrent_buyers_get_exactly_20_quotes_from_20_units_over_8_shards(settings):
    load(hot_drop(20, 8))
    assert [s.available for s in shards()] == [3, 3, 3, 3, 2, 2, 2, 2]
    start = threading.Barrier(64)

    def one_buyer(_):
        start.wait()
        return attempt(lambda: buy(settings))

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(one_buyer, range(64)))
    quotes = [r for r in results if isinstance(r, dict)]
    refusals = [r for r in results if isinstance(r, PackvaultError)]
    assert len(quotes) == 20 and len({q["opening_id"] for q in quotes}) == 20
    assert len(refusals) == 44 and {str(r.code) for r in refusals} == {"SOLD_OUT"}
    assert [(s.available, s.reserved) for s in shards()] == [(0, 3)] * 4 + [(0, 2)] * 4
    used = Counter(int(store.get_opening(q["opening_id"]).supply_shard or 0) for q in quotes)
    assert used == {0: 3, 1: 3, 2: 3, 3: 3, 4: 2, 5: 2, 6: 2, 7: 2}  # every unit came from its own shard
    view = catalog.get_pack("hot-drop")
    assert view["supply"] == {"limited": True, "total": 20, "available": 0, "reserved": 20, "sold": 0}
    assert view["sold_out"] is True
    audit()


def test_sold_out_only_when_every_shard_is_empty(settings):
    load(hot_drop(3, 8))  # five shards start empty: most first picks miss and fall back
    assert [s.available for s in shards()] == [1, 1, 1, 0, 0, 0, 0, 0]
    for _ in range(3):
        buy(settings)
    refused = attempt(lambda: buy(settings))
    assert isinstance(refused, PackvaultError) and str(refused.code) == "SOLD_OUT"
    assert [s.reserved for s in shards()] == [1, 1, 1, 0, 0, 0, 0, 0]
    audit()


def test_each_unit_goes_back_to_or_is_sold_from_its_own_shard(settings, solana_node):
    load(hot_drop(4, 4))
    payer, paid, signature = paid_quote(settings, solana_node)
    abandoned = [buy(settings) for _ in range(3)]
    opened = confirm.confirm_payment(settings, SolanaRpc([solana_node.url]), payer.public_key, paid["opening_id"],
                                     {"tx_signature": signature})
    assert opened.status_code == 200
    later = datetime.now(UTC) + timedelta(seconds=settings.quote_ttl_seconds + 5)
    expiry.sweep(settings, SolanaRpc([solana_node.url]), now=later)
    assert [store.get_opening(q["opening_id"]).status for q in abandoned] == ["EXPIRED"] * 3
    sold_from = int(store.get_opening(paid["opening_id"]).supply_shard or 0)
    assert [(s.available, s.reserved, s.sold, s.opened) for s in shards()] == [
        (0, 0, 1, 1) if shard == sold_from else (1, 0, 0, 0) for shard in range(4)]
    assert admin.pack_summary(store.get_pack("hot-drop"))["opened_count"] == 1
    audit()


def test_a_late_payment_takes_a_unit_from_another_shard_when_its_own_is_empty(settings, solana_node):
    load(hot_drop(2, 2))
    payer, late, signature = paid_quote(settings, solana_node)
    opening = store.get_opening(late["opening_id"])
    store.expire_opening(opening, None, "test: expired before the payment was seen")  # its unit goes back
    own = int(opening.supply_shard or 0)
    other = buy(settings)  # ... and a buyer takes a unit: with luck the very same one
    while int(store.get_opening(other["opening_id"]).supply_shard or 0) != own:
        store.expire_opening(store.get_opening(other["opening_id"]), None, "test: retry for the same shard")
        other = buy(settings)
    opened = confirm.confirm_payment(settings, SolanaRpc([solana_node.url]), payer.public_key, late["opening_id"],
                                     {"tx_signature": signature})
    assert opened.status_code == 200 and opened.body["status"] == "opened"
    assert int(store.get_opening(late["opening_id"]).supply_shard) == 1 - own
    assert sum(s.available for s in shards()) == 0
    audit()


def test_a_balance_opening_takes_its_unit_from_a_shard_and_sells_out_exactly(settings):
    load(hot_drop(3, 8))
    wallet = Keypair.generate().public_key
    store.grant_credits(wallet, 10_000, "grant-1", ADMIN, "test")
    for n in range(3):
        status, _ = balance_open.open_with_credits(settings, wallet, "hot-drop", {}, f"k{n}")
        assert status == 201
    refused = attempt(lambda: balance_open.open_with_credits(settings, wallet, "hot-drop", {}, "k3"))
    assert isinstance(refused, PackvaultError) and str(refused.code) == "SOLD_OUT"
    assert [s.sold for s in shards()] == [1, 1, 1, 0, 0, 0, 0, 0]
    audit()


def test_changing_supply_and_shards_spreads_units_without_losing_any(settings):
    load(hot_drop(20, 4))
    held = [buy(settings) for _ in range(5)]
    before = {int(store.get_opening(q["opening_id"]).supply_shard or 0) for q in held}
    load(hot_drop(30, 8))  # grown: 25 units available spread over 8
    rows = shards()
    assert [s.available for s in rows] == [4, 3, 3, 3, 3, 3, 3, 3]
    assert sum(s.reserved for s in rows) == 5 and {s.shard for s in rows if s.reserved} == before
    load(hot_drop(12, 2))  # shrunk to 2 shards: 7 available, the others drained but still holding reservations
    rows = shards()
    assert len(rows) == 8 and [s.available for s in rows] == [4, 3, 0, 0, 0, 0, 0, 0]
    assert sum(s.reserved for s in rows) == 5
    assert admin.pack_summary(store.get_pack("hot-drop"))["supply"] == {
        "total": 12, "available": 7, "reserved": 5, "sold": 0, "shards": 2}
    with pytest.raises(CatalogError, match="cannot go from 12 to 4"):  # fewer than reserved: nothing written
        load(hot_drop(4, 2))
    assert sum(s.available for s in shards()) == 7
    later = datetime.now(UTC) + timedelta(seconds=settings.quote_ttl_seconds + 5)
    expiry.sweep(settings, None, now=later)  # the 5 quotes expire: units back to the shards they came from
    rows = shards()
    assert sum(s.available for s in rows) == 12 and sum(s.reserved for s in rows) == 0
    for _ in range(12):
        buy(settings)
    assert str(attempt(lambda: buy(settings)).code) == "SOLD_OUT"  # drained shards' returned units sold too
    audit()


def test_supply_changes_while_buyers_buy_lose_and_invent_nothing(settings):
    load(hot_drop(40, 4))
    stop = threading.Event()

    def buyers():
        won = 0
        while not stop.is_set():
            result = attempt(lambda: buy(settings))
            won += isinstance(result, dict)
            if isinstance(result, PackvaultError) and str(result.code) == "SOLD_OUT":
                break
        return won

    with ThreadPoolExecutor(max_workers=8) as pool:
        running = [pool.submit(buyers) for _ in range(8)]
        for total, count in [(40, 8), (45, 2), (45, 16), (50, 3)]:
            load(hot_drop(total, count))
        stop.set()
        won = sum(f.result() for f in running)
    rows = shards()
    assert sum(s.reserved for s in rows) == won
    assert sum(s.available + s.reserved + s.sold for s in rows) == 50
    audit()


def test_a_paused_sharded_pack_refuses_on_every_shard(settings):
    load(hot_drop(16, 8))
    admin.set_pack_status(ADMIN, "hot-drop", "INACTIVE", "pause-1")
    purchase_ = purchase.purchase
    refusals = {str(attempt(lambda: purchase_(settings, Keypair.generate().public_key, "hot-drop", {}, None)).code)
                for _ in range(8)}
    assert refusals == {"PACK_INACTIVE"}
    assert {store.SupplyShardRecord.get(store.supply.shard_pk("hot-drop", n), "SUPPLY").status
            for n in range(1, 8)} == {"INACTIVE"}
    audit()


def test_a_snapshot_cancelled_by_committing_transactions_is_read_again_never_a_500(settings):
    load(hot_drop(1, 4))
    buy(settings)
    faults = Faults()
    try:
        for nth in range(1, 5):  # DynamoDB cancels a TransactGetItems that meets a committing transaction
            faults.inject("TransactGetItems", nth, "cancelled")
        refused = attempt(lambda: buy(settings))
        assert isinstance(refused, PackvaultError) and str(refused.code) == "SOLD_OUT"
        assert len(faults.fired) == 4
    finally:
        faults.close()


@pytest.mark.parametrize("kind", ["throttle", "server_error", "timeout", "cancelled", "crash_after"])
def test_a_sharded_purchase_survives_a_fault_at_its_transaction(settings, kind):
    load(hot_drop(4, 4))
    faults = Faults()
    try:
        faults.inject("TransactWriteItems", faults.seen["TransactWriteItems"] + 1, kind)
        wallet = Keypair.generate().public_key
        _, quote = until_it_answers(lambda: purchase.purchase(settings, wallet, "hot-drop", {}, "same-key"))
        again = purchase.purchase(settings, wallet, "hot-drop", {}, "same-key")[1]
        assert again["opening_id"] == quote["opening_id"] and faults.fired  # one quote, one unit
        assert [sum(s.reserved for s in shards()), sum(s.available for s in shards())] == [1, 3]
        audit()
    finally:
        faults.close()


def test_after_a_sold_out_answer_one_read_decides_and_a_released_unit_sells_again(settings):
    load(hot_drop(3, 8))
    quotes = [buy(settings) for _ in range(3)]
    assert str(attempt(lambda: buy(settings)).code) == "SOLD_OUT"
    calls = Faults()  # injects nothing here: counts this container's DynamoDB calls
    try:
        assert str(attempt(lambda: buy(settings)).code) == "SOLD_OUT"
        assert dict(calls.seen) == {"TransactGetItems": 1}  # no doomed transaction, no second read
        store.expire_opening(store.get_opening(quotes[1]["opening_id"]), None, "test: a quote expires")
        calls.seen.clear()
        again = buy(settings)  # the remembered sold-out is only a reason to read again: the unit sells
        assert calls.seen["TransactGetItems"] == 1 and calls.seen["TransactWriteItems"] == 1
        assert int(store.get_opening(again["opening_id"]).supply_shard or 0) == \
            int(store.get_opening(quotes[1]["opening_id"]).supply_shard or 0)
    finally:
        calls.close()
    audit()
