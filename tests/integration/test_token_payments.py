"""USDC payments end to end on LiteSVM (real SPL Token program: mint, associated accounts, transferChecked)
through purchase, confirm, the expiry sweep and the support tool."""

from __future__ import annotations

import json

import pytest
from solders.keypair import Keypair as SoldersKeypair

from local.wallet import RpcWallet, associated_token_address
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core import money
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.solana import confirm
from packvault_tools.cli import main
from tests.conftest import DEMO_CATALOG


@pytest.fixture
def env(local_table, solana_node):
    wallet = RpcWallet(solana_node.url)
    authority, platform = SoldersKeypair(), SoldersKeypair()
    wallet.airdrop(str(authority.pubkey()), 10**10)
    usdc = wallet.create_mint(authority, 6)
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
                                  "PLATFORM_WALLET": str(platform.pubkey()), "SOLANA_RPC_URLS": solana_node.url,
                                  "TOKEN_MINTS": f"USDC={usdc}"})
    original = dict(money.CURRENCIES)
    money.configure_mints(settings.token_mints)
    yield settings, SolanaRpc([solana_node.url]), wallet, authority, usdc
    money.CURRENCIES.clear()
    money.CURRENCIES.update(original)


def funded_buyer(wallet, authority, usdc, units=100_000_000):
    buyer = SoldersKeypair()
    wallet.airdrop(str(buyer.pubkey()), 10**9)
    wallet.mint_to(authority, usdc, buyer.pubkey(), units)
    return buyer


def usdc_quote(settings, buyer):
    return purchase.purchase(settings, str(buyer.pubkey()), "starter-unlimited", {"currency": "usdc"}, None)[1]


def confirm_with(settings, rpc, buyer, q, signature):
    return confirm.confirm_payment(settings, rpc, str(buyer.pubkey()), q["opening_id"],
                                   {"tx_signature": signature, "chain": "solana"})


def refused(call) -> PackvaultError:
    with pytest.raises(PackvaultError) as raised:
        call()
    return raised.value


def test_a_usdc_quote_names_the_mint_and_uses_its_decimals(env):
    settings, _, wallet, authority, usdc = env
    q = usdc_quote(settings, funded_buyer(wallet, authority, usdc))
    assert (q["currency"], q["amount"], q["amount_base_units"], q["mint"]) == ("USDC", "2.5", "2500000", str(usdc))
    assert "amount_sol" not in q
    assert f"?amount=2.5&spl-token={usdc}&reference={q['reference']}" in q["solana_pay_url"]
    assert q["receiver_wallet"] == settings.platform_wallet  # the wallet, never a derived token account


def test_transfer_checked_creating_the_platform_token_account_opens_the_pack(env):
    settings, rpc, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    q = usdc_quote(settings, buyer)
    signature = wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_500_000, 6, reference=q["reference"],
                                 memo=f"packvault:{q['opening_id']}", create_recipient_account=True)
    outcome = confirm_with(settings, rpc, buyer, q, signature)
    assert outcome.status_code == 200 and len(outcome.body["items"]) == 3
    assert outcome.body["payment"]["received"] == "2.5" and outcome.body["payment"]["currency"] == "USDC"
    second = usdc_quote(settings, buyer)  # the platform's account exists now: a plain transferChecked
    signature = wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_500_000, 6, reference=second["reference"])
    assert confirm_with(settings, rpc, buyer, second, signature).status_code == 200


def test_the_wrong_mint_is_refused(env):
    settings, rpc, wallet, authority, _ = env
    fake = wallet.create_mint(authority, 6)
    buyer = funded_buyer(wallet, authority, fake)
    q = usdc_quote(settings, buyer)
    signature = wallet.pay_token(buyer, q["receiver_wallet"], fake, 2_500_000, 6, reference=q["reference"],
                                 create_recipient_account=True)
    error = refused(lambda: confirm_with(settings, rpc, buyer, q, signature))
    assert (str(error.code), error.status) == ("WRONG_MINT", 422)


def test_a_short_amount_is_refused_with_both_amounts(env):
    settings, rpc, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    q = usdc_quote(settings, buyer)
    signature = wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_499_999, 6, reference=q["reference"],
                                 create_recipient_account=True)
    error = refused(lambda: confirm_with(settings, rpc, buyer, q, signature))
    assert (str(error.code), error.details["expected"], error.details["received"]) == ("UNDERPAID", "2.5",
                                                                                       "2.499999")


def test_a_token_account_not_owned_by_the_platform_is_refused(env):
    settings, rpc, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    stranger = SoldersKeypair()
    wallet.mint_to(authority, usdc, stranger.pubkey(), 1)  # the stranger's token account exists
    q = usdc_quote(settings, buyer)
    signature = wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_500_000, 6, reference=q["reference"],
                                 recipient_token_account=associated_token_address(stranger.pubkey(), usdc))
    error = refused(lambda: confirm_with(settings, rpc, buyer, q, signature))
    assert str(error.code) == "WRONG_RECIPIENT"


def test_a_sol_payment_presented_for_a_usdc_quote_is_refused(env):
    settings, rpc, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    q = usdc_quote(settings, buyer)
    signature = wallet.pay(buyer, q["receiver_wallet"], 500_000_000, reference=q["reference"])
    error = refused(lambda: confirm_with(settings, rpc, buyer, q, signature))
    assert (str(error.code), error.status) == ("WRONG_RECIPIENT", 422)


def test_the_sweep_opens_a_usdc_payment_that_was_never_confirmed(env):
    from datetime import UTC, datetime, timedelta

    settings, rpc, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    q = usdc_quote(settings, buyer)
    wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_500_000, 6, reference=q["reference"],
                     create_recipient_account=True)
    report = expiry.sweep(settings, rpc, now=datetime.now(UTC) + timedelta(hours=1))
    assert report.opened == 1 and store.get_opening(q["opening_id"]).status == "OPENED"


def test_verify_payment_tool_checks_usdc(env, capsys, solana_node):
    settings, _, wallet, authority, usdc = env
    buyer = funded_buyer(wallet, authority, usdc)
    q = usdc_quote(settings, buyer)
    signature = wallet.pay_token(buyer, q["receiver_wallet"], usdc, 2_500_000, 6, reference=q["reference"],
                                 create_recipient_account=True)
    args = ["verify-payment", signature, "--rpc-url", solana_node.url, "--recipient", q["receiver_wallet"],
            "--currency", "USDC", "--mint", str(usdc), "--reference", q["reference"]]
    assert main([*args, "--amount", "2.5"]) == 0
    assert json.loads(capsys.readouterr().out)["received"] == "2.5"
    assert main([*args, "--amount", "3"]) == 1
