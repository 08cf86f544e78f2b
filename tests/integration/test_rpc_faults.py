"""Solana RPC faults in the payment paths, on DynamoDB Local with payments really signed on LiteSVM behind a proxy
that misbehaves as planned (tests.faults.RpcFaults): rate limits, 5xx, dropped connections and a lagging node are
retried or failed over; an outage is a 503 RPC_UNAVAILABLE for the buyer and a skipped opening for the sweep, and
the next attempt finishes it exactly once. Every scenario ends with the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG
from tests.faults import RpcFaults, audit

TRANSIENT = ["http_429", "http_503", "reset"]


@pytest.fixture
def env(local_table, solana_node):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    proxy = RpcFaults(solana_node.url)
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key, "SOLANA_RPC_URLS": proxy.url,
                                  "MAX_OPEN_QUOTES": "10", "EXPIRY_GRACE_SECONDS": "0"})
    rpc = SolanaRpc([proxy.url], timeout=(1.0, 2.0), backoff_seconds=0.01)
    yield settings, rpc, RpcWallet(solana_node.url), proxy
    proxy.close()


def paid_quote(settings, chain):
    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, "genesis-drop", {}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"])
    return keypair, quote, signature


@pytest.mark.parametrize("kind", [*TRANSIENT, "node_error"])
def test_confirm_rides_out_a_fault_at_get_transaction(env, kind):
    settings, rpc, chain, proxy = env
    keypair, quote, signature = paid_quote(settings, chain)
    proxy.inject("getTransaction", proxy.seen["getTransaction"] + 1, kind)
    body = {"tx_signature": signature}
    if kind == "node_error":  # not transient for the client: the buyer sees 503 and confirms again
        with pytest.raises(PackvaultError) as refused:
            confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
        assert refused.value.code == "RPC_UNAVAILABLE" and refused.value.status == 503
    opened = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
    assert opened.status_code == 200 and opened.body["status"] == "opened" and proxy.fired
    assert audit()["payments"] == 1


def test_an_outage_is_a_503_then_the_payment_opens_once(env):
    settings, rpc, chain, proxy = env
    keypair, quote, signature = paid_quote(settings, chain)
    proxy.inject("getTransaction", 0, "down")
    body = {"tx_signature": signature}
    with pytest.raises(PackvaultError) as refused:
        confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
    assert refused.value.code == "RPC_UNAVAILABLE" and store.get_opening(quote["opening_id"]).status == "QUOTED"
    proxy.heal()
    first = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
    again = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], body)
    assert first.body["items"] == again.body["items"] and audit()["payments"] == 1


def test_failover_to_the_next_url_when_the_first_is_down(env, solana_node):
    settings, _, chain, proxy = env
    keypair, quote, signature = paid_quote(settings, chain)
    proxy.inject("getTransaction", 0, "down")
    both = SolanaRpc([proxy.url, solana_node.url], timeout=(1.0, 2.0), backoff_seconds=0.01)
    opened = confirm.confirm_payment(settings, both, keypair.public_key, quote["opening_id"],
                                     {"tx_signature": signature})
    assert opened.body["status"] == "opened" and audit()["payments"] == 1


def test_the_sweep_skips_what_it_cannot_check_and_the_next_run_settles_it(env):
    settings, rpc, chain, proxy = env
    _, quote, _ = paid_quote(settings, chain)  # paid, never confirmed: the sweep must find it
    later = datetime.now(UTC) + timedelta(hours=1)
    proxy.inject("getSignaturesForAddress", 0, "down")
    proxy.inject("getTransaction", 0, "down")
    expiry.sweep(settings, rpc, now=later)
    assert store.get_opening(quote["opening_id"]).status == "QUOTED"  # left for the next run, nothing lost
    proxy.heal()
    report = expiry.sweep(settings, rpc, now=later)
    assert report.opened == 1 and store.get_opening(quote["opening_id"]).status == "OPENED"
    assert audit()["payments"] == 1
