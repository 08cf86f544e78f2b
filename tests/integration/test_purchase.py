"""Purchase on DynamoDB Local: no oversell under concurrency, idempotent retries, anti-squatting."""

from __future__ import annotations

import json
import secrets as _secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.core.settlement import Settlement
from packvault.edge import purchasing as purchase
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PLATFORM = Keypair.generate().public_key


@pytest.fixture
def settings(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name, "PLATFORM_WALLET": PLATFORM,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "MAX_OPEN_QUOTES": "3"})


def _paid() -> Settlement:
    """A Solana payment as the rail proves it: its signature is the payment id and the draw's entropy."""
    signature = _secrets.token_hex(32)
    return Settlement("solana", signature, {"entropy": signature})


def attempt(call):
    try:
        return call()
    except PackvaultError as refused:
        return refused


def buy(settings, wallet, pack_id="genesis-drop", body=None, key=None):
    return purchase.purchase(settings, wallet, pack_id, body or {}, key)


def test_64_buyers_race_for_20_units_exactly_20_win(settings):
    wallets = [Keypair.generate().public_key for _ in range(64)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda w: attempt(lambda: buy(settings, w)), wallets))
    quotes = [r[1] for r in results if isinstance(r, tuple)]
    refusals = [r for r in results if isinstance(r, PackvaultError)]
    assert len(quotes) == 20
    assert len(refusals) == 44 and {str(r.code) for r in refusals} == {"SOLD_OUT"}
    assert len({q["opening_id"] for q in quotes}) == 20
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_available, pack.supply_reserved, pack.supply_sold) == (0, 20, 0)
    assert pack.supply_available + pack.supply_reserved + pack.supply_sold == pack.supply_total
    for quote in quotes:
        assert store.get_opening(quote["opening_id"]).status == "QUOTED"
        assert [e.event_type for e in store.events_of(store.opening_pk(quote["opening_id"]))] == ["QUOTED"]


def test_quote_has_the_payment_terms_and_the_commitment(settings):
    wallet = Keypair.generate().public_key
    status, quote = buy(settings, wallet, "starter-unlimited", {"currency": "sol", "client_seed": "my seed"})
    assert status == 201
    assert quote["receiver_wallet"] == PLATFORM != wallet
    assert (quote["amount_sol"], quote["amount"], quote["amount_base_units"], quote["currency"]) == (
        "0.05", "0.05", "50000000", "SOL")
    assert quote["quote_expires_at"].endswith("Z")
    assert quote["solana_pay_url"].startswith(f"solana:{PLATFORM}?amount=0.05&reference={quote['reference']}&")
    assert quote["reference"] != PLATFORM and len(quote["server_seed_hash"]) == 64
    assert quote["client_seed"] == "my seed" and quote["odds_version"] == 1
    stored = store.get_opening(quote["opening_id"])
    assert stored.server_seed not in str(quote)


def test_unlimited_pack_writes_no_counter(settings):
    before = store.get_pack("starter-unlimited").serialize()
    buy(settings, Keypair.generate().public_key, "starter-unlimited")
    assert store.get_pack("starter-unlimited").serialize() == before


def test_a_retry_with_the_same_key_returns_the_same_quote_and_reserves_once(settings):
    wallet = Keypair.generate().public_key
    first = buy(settings, wallet, key="order-1")
    again = buy(settings, wallet, key="order-1")
    assert first == again
    assert store.get_pack("genesis-drop").supply_reserved == 1


def test_concurrent_retries_with_one_key_make_one_quote(settings):
    wallet = Keypair.generate().public_key
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: attempt(lambda: buy(settings, wallet, key="double-click")), range(10)))
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[1]["opening_id"] for r in results}) == 1
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_reserved, pack.supply_available) == (1, 19)


def test_same_key_for_a_different_request_is_422(settings):
    wallet = Keypair.generate().public_key
    buy(settings, wallet, key="k1")
    refused = attempt(lambda: buy(settings, wallet, "starter-unlimited", key="k1"))
    assert (str(refused.code), refused.status) == ("IDEMPOTENCY_KEY_REUSED", 422)


def test_keys_are_scoped_to_the_wallet(settings):
    one, other = Keypair.generate().public_key, Keypair.generate().public_key
    assert buy(settings, one, key="same")[1]["opening_id"] != buy(settings, other, key="same")[1]["opening_id"]


def test_without_a_key_a_retry_is_a_new_quote(settings):
    wallet = Keypair.generate().public_key
    assert buy(settings, wallet)[1]["opening_id"] != buy(settings, wallet)[1]["opening_id"]


def test_a_fourth_unpaid_quote_is_refused_until_one_is_released(settings):
    wallet = Keypair.generate().public_key
    quotes = [buy(settings, wallet, "starter-unlimited")[1] for _ in range(3)]
    refused = attempt(lambda: buy(settings, wallet, "starter-unlimited"))
    assert (str(refused.code), refused.status) == ("TOO_MANY_OPEN_QUOTES", 429)
    assert store.open_quote_count(wallet) == 3
    assert store.expire_opening(store.get_opening(quotes[0]["opening_id"]), None, "test: the sweep released it")
    assert store.open_quote_count(wallet) == 2
    assert buy(settings, wallet, "starter-unlimited")[0] == 201


def test_concurrent_purchases_by_one_wallet_respect_the_quote_limit(settings):
    wallet = Keypair.generate().public_key
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: attempt(lambda: buy(settings, wallet, "starter-unlimited")), range(10)))
    assert sum(isinstance(r, tuple) for r in results) == 3
    assert {str(r.code) for r in results if isinstance(r, PackvaultError)} == {"TOO_MANY_OPEN_QUOTES"}
    assert store.open_quote_count(wallet) == 3


def test_mint_limit_per_wallet(settings):
    roomy = settings.model_copy(update={"max_open_quotes": 50})
    wallet = Keypair.generate().public_key
    for _ in range(5):  # genesis-drop allows 5 per wallet
        assert buy(roomy, wallet)[0] == 201
    refused = attempt(lambda: buy(roomy, wallet))
    assert (str(refused.code), refused.status) == ("MINT_LIMIT_REACHED", 429)
    assert store.get_pack("genesis-drop").supply_reserved == 5


@pytest.mark.parametrize(
    ("pack_id", "body", "code", "status"),
    [
        ("no-such-pack", {}, "PACK_NOT_FOUND", 404),
        ("retired-pack", {}, "PACK_INACTIVE", 409),
        ("genesis-drop", {"currency": "DOGE"}, "CURRENCY_NOT_ACCEPTED", 400),
        ("genesis-drop", {"currency": 5}, "CURRENCY_NOT_ACCEPTED", 400),
        ("genesis-drop", {"client_seed": ""}, "INVALID_CLIENT_SEED", 400),
        ("genesis-drop", {"client_seed": "\n"}, "INVALID_CLIENT_SEED", 400),
        ("bad id!", {}, "INVALID_PACK_ID", 400),
    ],
)
def test_bad_requests_are_refused_without_writing(settings, pack_id, body, code, status):
    refused = attempt(lambda: buy(settings, Keypair.generate().public_key, pack_id, body))
    assert (str(refused.code), refused.status) == (code, status)
    assert store.get_pack("genesis-drop").supply_reserved == 0


def test_bad_idempotency_key_is_400(settings):
    refused = attempt(lambda: buy(settings, Keypair.generate().public_key, key="has space"))
    assert str(refused.code) == "INVALID_IDEMPOTENCY_KEY"


def test_the_unpaid_quote_count_follows_every_way_a_quote_ends(settings):
    from packvault.sales.settle import open_paid

    wallet = Keypair.generate().public_key
    a, b, c = (buy(settings, wallet, "starter-unlimited")[1] for _ in range(3))
    assert store.open_quote_count(wallet) == 3
    open_paid(store.get_opening(a["opening_id"]), _paid())
    assert store.open_quote_count(wallet) == 2
    assert store.expire_opening(store.get_opening(b["opening_id"]), None, "test")
    assert store.open_quote_count(wallet) == 1
    late = store.get_opening(c["opening_id"])
    assert store.expire_opening(late, None, "test") and store.open_quote_count(wallet) == 0
    late = store.get_opening(c["opening_id"])
    assert store.re_reserve(late) and store.open_quote_count(wallet) == 1  # a payment made in time, found late
    open_paid(late, _paid())
    assert store.open_quote_count(wallet) == 0


def test_a_catalog_change_is_seen_by_the_next_purchase_though_the_pack_is_cached(settings):
    from packvault.catalog.loader import parse_catalog

    wallet = Keypair.generate().public_key
    assert buy(roomy := settings.model_copy(update={"max_open_quotes": 50}), wallet, "starter-unlimited")[1][
        "amount"] == "0.05"  # the pack is now in this process's cache
    document = json.loads(DEMO_CATALOG.read_text())
    document["packs"][0]["prices"]["SOL"] = "0.07"
    load_catalog(parse_catalog(document))
    assert buy(roomy, wallet, "starter-unlimited")[1]["amount"] == "0.07"  # never sold under the old price


def test_an_open_delivers_the_definitions_its_quote_committed_to_never_a_stale_cache(settings):
    from packvault.catalog.loader import parse_catalog
    from packvault.sales.settle import open_paid

    roomy = settings.model_copy(update={"max_open_quotes": 50})
    wallet = Keypair.generate().public_key
    first, before = (buy(roomy, wallet, "starter-unlimited")[1] for _ in range(2))
    open_paid(store.get_opening(first["opening_id"]), _paid())  # cached
    document = json.loads(DEMO_CATALOG.read_text())
    for tier in document["packs"][0]["tiers"]:
        for item in tier["items"]:
            item["fmv"] = "9.99"  # every item's value changes; the odds do not
    load_catalog(parse_catalog(document))
    after = buy(roomy, wallet, "starter-unlimited")[1]
    quoted_before = open_paid(store.get_opening(before["opening_id"]), _paid())
    quoted_after = open_paid(store.get_opening(after["opening_id"]), _paid())
    assert "9.99" not in {item["fmv"] for item in quoted_before["items"]}  # fairness v2: what its quote committed to
    assert {item["fmv"] for item in quoted_after["items"]} == {"9.99"}  # the new definitions, not a stale cache
    assert quoted_before["fairness"]["round"] == quoted_after["fairness"]["round"] == 0  # no redraw either way
