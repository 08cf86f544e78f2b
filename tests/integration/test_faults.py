"""Faults at every step, on DynamoDB Local with real signed payments on LiteSVM: DynamoDB refusing, timing out or
'crashing' the caller after committing, at each write of purchase, confirm, the sweep and the Stripe webhook;
then the normal retries run (botocore's, the buyer's retry with the same Idempotency-Key or signature, Stripe's
redelivery, the next sweep) and the audit proves nothing was lost, opened twice or oversold.
docs/FAULTS.md holds the matrix these tests prove."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from local import stripe_double
from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.card import checkout
from packvault.rails.card import settlement as card_settlement
from packvault.rails.card import stripe_api as stripe_checkout
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG
from tests.faults import Faults, InjectedCrash, audit

SECRET_KEY, WEBHOOK_SECRET, SHOP = "sk_test_faults_01", "whsec_faults_0123456789", "https://shop.example"
KINDS = ["throttle", "server_error", "timeout", "crash_after"]


@pytest.fixture
def env(local_table, solana_node, double):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": Keypair.generate().public_key, "SOLANA_RPC_URLS": solana_node.url, "MAX_OPEN_QUOTES": "10",
        "STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": double.url,
        "CHECKOUT_RETURN_ORIGINS": SHOP, "EXPIRY_GRACE_SECONDS": "0"})
    faults = Faults()
    yield settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url), faults
    faults.close()


def until_it_answers(call, attempts: int = 4):
    """What a client (or Stripe, or the scheduler) does: try again after a failure."""
    for _ in range(attempts - 1):
        try:
            return call()
        except (InjectedCrash, PackvaultError) as failure:
            if isinstance(failure, PackvaultError) and failure.status < 500:
                raise
    return call()


def buyer(wallet: RpcWallet):
    keypair = Keypair.generate()
    wallet.airdrop(keypair.public_key, 2 * 10**9)
    return keypair


@pytest.mark.parametrize("kind", KINDS)
def test_purchase_survives_a_fault_at_its_transaction(env, kind):
    settings, _, _, faults = env
    faults.inject("TransactWriteItems", 1, kind)
    keypair = Keypair.generate()
    status, quote = until_it_answers(lambda: purchase.purchase(settings, keypair.public_key, "genesis-drop", {},
                                                               "same-key"))
    assert status == 201 and faults.fired
    again = purchase.purchase(settings, keypair.public_key, "genesis-drop", {}, "same-key")[1]
    assert again["opening_id"] == quote["opening_id"]  # one quote, one unit, whatever the fault
    assert audit()["openings"] == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("operation", "pack"), [  # vault-chase has finite stock: its stock chain's head is read
    ("GetItem", "genesis-drop"), ("GetItem", "vault-chase"),  # fresh (GetItem) and moved in the open transaction
    ("TransactWriteItems", "genesis-drop"), ("TransactWriteItems", "vault-chase")])
def test_confirm_survives_a_fault_at_each_of_its_calls(env, kind, operation, pack):
    settings, rpc, wallet, faults = env
    keypair = buyer(wallet)
    quote = purchase.purchase(settings, keypair.public_key, pack, {}, None)[1]
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"])
    faults.inject(operation, faults.seen[operation] + 1, kind)
    body = {"tx_signature": signature}
    opened = until_it_answers(lambda: confirm.confirm_payment(settings, rpc, keypair.public_key,
                                                              quote["opening_id"], body))
    again = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
    assert opened.status_code == again.status_code == 200 and opened.body["items"] == again.body["items"]
    assert faults.fired and audit()["payments"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_sweep_survives_a_fault_and_the_next_run_finishes_exactly_once(env, kind):
    settings, rpc, wallet, faults = env
    quotes = [purchase.purchase(settings, Keypair.generate().public_key, "genesis-drop", {}, None)[1]
              for _ in range(4)]
    paid = buyer(wallet)  # one of them paid in time but never confirmed: the sweep must open it
    quotes.append(purchase.purchase(settings, paid.public_key, "genesis-drop", {}, None)[1])
    wallet.pay(solders_keypair(paid), quotes[-1]["receiver_wallet"], int(quotes[-1]["amount_base_units"]),
               reference=quotes[-1]["reference"])
    later = datetime.now(UTC) + timedelta(seconds=settings.quote_ttl_seconds + 5)
    faults.inject("TransactWriteItems", faults.seen["TransactWriteItems"] + 2, kind)
    for _ in range(3):
        try:
            expiry.sweep(settings, rpc, now=later)
        except InjectedCrash:
            continue
    statuses = sorted(store.get_opening(q["opening_id"]).status for q in quotes)
    assert statuses == ["EXPIRED"] * 4 + ["OPENED"]
    assert faults.fired and audit()["openings"] == 5


@pytest.mark.parametrize("kind", KINDS)
def test_a_card_payment_survives_a_fault_at_the_webhooks_transaction(env, double, kind):
    settings, _, _, faults = env
    cards = stripe_checkout.from_settings(settings)
    buyer_wallet = Keypair.generate().public_key
    _, started = checkout.create_checkout(settings, cards, buyer_wallet, "genesis-drop",
                                          {"success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"}, None)
    stripe_double.pay_session(double.state, started["checkout_session_id"])
    (event,) = [e for e in double.state.events if e["type"] == "checkout.session.completed"
                and e["data"]["object"]["id"] == started["checkout_session_id"]]
    payload = json.dumps(event).encode()
    faults.inject("TransactWriteItems", faults.seen["TransactWriteItems"] + 1, kind)

    def deliver():  # Stripe redelivers whatever did not answer 2xx
        header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()))
        return card_settlement.handle_webhook(settings, cards, payload, header)["outcome"]

    outcome = until_it_answers(deliver)
    assert outcome in {"opened", "duplicate"}
    assert deliver() == "duplicate" and store.get_opening(started["opening_id"]).status == "OPENED"
    assert faults.fired and audit()["payments"] == 1


def test_the_audit_catches_what_it_names(env):
    settings, _, _, _ = env
    quote = purchase.purchase(settings, Keypair.generate().public_key, "genesis-drop", {}, None)[1]
    assert audit()["openings"] == 1
    pack = store.get_pack("genesis-drop")
    pack.update(actions=[store.PackRecord.supply_reserved.add(1), store.PackRecord.supply_available.add(-1)])
    with pytest.raises(AssertionError, match="reserved/sold"):
        audit()
    pack.update(actions=[store.PackRecord.supply_reserved.add(-1), store.PackRecord.supply_available.add(1)])
    store.get_opening(quote["opening_id"]).update(actions=[store.OpeningRecord.status.set("OPENED")])
    with pytest.raises(AssertionError, match="vault items"):
        audit()
