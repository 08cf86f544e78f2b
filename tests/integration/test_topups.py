"""Credit top-ups through the payment rails, on DynamoDB Local: a bundle is quoted, paid and settled like a pack
(a really signed Solana transfer; a Stripe Checkout Session through the local double), and settling it posts
its credits once, whatever is repeated."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local import stripe_double
from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.rails.card import checkout
from packvault.rails.card import settlement as card_settlement
from packvault.rails.card import stripe_api as stripe_checkout
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

SECRET_KEY, WEBHOOK_SECRET, SHOP = "sk_test_topups_0123", "whsec_topups_0123456789", "https://shop.example"


@pytest.fixture
def env(local_table, solana_node, double):
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": Keypair.generate().public_key, "SOLANA_RPC_URLS": solana_node.url,
        "STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": double.url,
        "CHECKOUT_RETURN_ORIGINS": SHOP})
    load_catalog_file(DEMO_CATALOG)
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)


def test_a_bundle_bought_with_sol_posts_its_credits_once(env):
    settings, rpc, wallet = env
    keypair = Keypair.generate()
    wallet.airdrop(keypair.public_key, 10**9)
    status, quote = purchase.purchase_bundle(settings, keypair.public_key, "credits-500", {"currency": "SOL"}, None)
    assert status == 201 and quote["product"] == "credits" and quote["credits"] == 500
    assert quote["amount"] == "0.02" and "500%20credits" in quote["solana_pay_url"]
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    body = {"tx_signature": signature, "chain": "sol"}
    with ThreadPoolExecutor(max_workers=8) as pool:  # repeated and concurrent confirms: credited once
        outcomes = list(pool.map(lambda _: confirm.confirm_payment(settings, rpc, keypair.public_key,
                                                                   quote["opening_id"], body), range(8)))
    assert {o.status_code for o in outcomes} == {200}
    assert outcomes[0].body["credits"] == 500 and outcomes[0].body["items"] == []
    assert store.credit_balance(keypair.public_key) == 500
    assert [int(e.amount) for e in store.all_entries(store.wallet_account(keypair.public_key))] == [500]
    assert store.get_posting(f"topup:{quote['opening_id']}").entries == [
        {"account": store.wallet_account(keypair.public_key), "amount": 500},
        {"account": store.platform_account("topups"), "amount": -500}]


def test_a_bundle_bought_by_card_posts_its_credits_once_per_event(env, double):
    settings, _, _ = env
    cards = stripe_checkout.from_settings(settings)
    buyer = Keypair.generate().public_key
    status, started = checkout.create_checkout(settings, cards, buyer, "credits-2500",
                                               {"success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"}, None,
                                               "credits")
    assert status == 201 and started["credits"] == 2500 and started["amount"] == "22.49"
    stripe_double.pay_session(double.state, started["checkout_session_id"])
    (event,) = [e for e in double.state.events if e["type"] == "checkout.session.completed"
                and e["data"]["object"]["id"] == started["checkout_session_id"]]
    payload = json.dumps(event).encode()
    for expected in ("opened", "duplicate"):
        header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()))
        assert card_settlement.handle_webhook(settings, cards, payload, header)["outcome"] == expected
    assert store.credit_balance(buyer) == 2500


def test_a_bundle_needs_a_known_id_and_a_solana_currency(env):
    settings, _, _ = env
    buyer = Keypair.generate().public_key
    with pytest.raises(PackvaultError) as unknown:
        purchase.purchase_bundle(settings, buyer, "credits-9", {"currency": "SOL"}, None)
    assert unknown.value.code == "BUNDLE_NOT_FOUND" and unknown.value.status == 404
    with pytest.raises(PackvaultError) as card_only:
        purchase.purchase_bundle(settings, buyer, "credits-500", {"currency": "USD"}, None)
    assert card_only.value.code == "CURRENCY_NOT_ACCEPTED"


@pytest.mark.parametrize(("spent", "taken_back"), [(0, 2500), (250, 2250)])
def test_a_refunded_card_top_up_takes_its_credits_back_as_far_as_they_remain(env, double, spent, taken_back):
    settings = env[0]
    cards = stripe_checkout.from_settings(settings)
    buyer = Keypair.generate().public_key
    _, started = checkout.create_checkout(settings, cards, buyer, "credits-2500",
                                          {"success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"}, None, "credits")
    stripe_double.pay_session(double.state, started["checkout_session_id"])

    def deliver(event_type: str, match) -> str:
        event = [e for e in double.state.events if e["type"] == event_type and match(e["data"]["object"])][-1]
        payload = json.dumps(event).encode()
        return card_settlement.handle_webhook(settings, cards, payload,
                                              stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time())))["outcome"]

    assert deliver("checkout.session.completed", lambda o: o["id"] == started["checkout_session_id"]) == "opened"
    if spent:
        assert purchase.purchase(settings, buyer, "starter-unlimited", {"currency": "CREDIT"}, None)[0] == 201
    opening = store.get_opening(started["opening_id"])
    cards.refund(opening.payment_id, opening.opening_id)
    assert deliver("charge.refunded", lambda o: o["payment_intent"] == opening.payment_id) == "refunded"
    refunded = store.get_opening(started["opening_id"])
    assert refunded.status == "REFUNDED" and refunded.payment["credits_taken_back"] == taken_back
    assert refunded.payment["credits_short"] == spent  # spent credits cannot be taken back: recorded
    assert store.credit_balance(buyer) == 0
