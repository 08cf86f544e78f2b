"""Every state transition the system has leaves exactly the events it should, each naming its actor and the
request that caused it: Solana quote and open, expiry, a late payment to refund and its refund, card checkout
and its webhook, a credit top-up, credits granted, an opening paid from the balance, a buyback, a seed
rotation, and operators' catalog edits. Driven end to end on DynamoDB Local, LiteSVM and the Stripe double."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import stripe_double
from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core import context
from packvault.core.settings import Settings
from packvault.edge import admin
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.card import checkout
from packvault.rails.card import settlement as card_settlement
from packvault.rails.card import stripe_api as stripe_checkout
from packvault.rails.credits import balance as credits
from packvault.rails.credits import open as balance_open
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

SECRET_KEY = "sk_test_trail_0123456789"
WEBHOOK_SECRET = "whsec_trail_0123456789abcdef"
SHOP = "https://shop.example"
PLATFORM = Keypair.generate().public_key
ADMIN = Keypair.generate().public_key


@pytest.fixture
def env(local_table, solana_node, double):
    load_catalog_file(DEMO_CATALOG)
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": PLATFORM, "SOLANA_RPC_URLS": solana_node.url, "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": double.url, "CHECKOUT_RETURN_ORIGINS": SHOP,
        "OPERATOR_ROLES": f"{ADMIN}=admin", "MAX_OPEN_QUOTES": "10"})
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url), stripe_checkout.from_settings(settings)


def all_events() -> dict[str, store.EventRecord]:
    return {f"{e.pk}|{e.sk}": e for e in store.EventRecord.scan(store.EventRecord.sk.startswith(store.EVENT_PREFIX),
                                                                consistent_read=True)}


def step(name: str, expected: list[tuple[str, str]], action: Callable[[], Any]) -> Any:
    """Run one transition as request `req-<name>`; the events it appended anywhere in the table must be exactly
    `expected` ((entity key prefix, event type), in order), each naming its actor and this request."""
    before = all_events()
    context.begin(f"actor-{name}", f"req-{name}")
    result = action()
    new = sorted((e for key, e in all_events().items() if key not in before), key=lambda e: e.sk)
    assert [(e.pk.split("#")[0], e.event_type) for e in new] == expected, name
    for event in new:
        assert event.request_id == f"req-{name}", (name, event.event_type)
        assert event.actor, (name, event.event_type)
    return result


def test_each_transition_leaves_exactly_its_events(env, double):
    settings, rpc, chain, cards = env
    buyer = Keypair.generate()
    chain.airdrop(buyer.public_key, 5 * 10**9)
    signer = solders_keypair(buyer)

    def pay(quote: dict) -> str:
        return chain.pay(signer, quote["receiver_wallet"], int(quote["amount_base_units"]),
                         reference=quote["reference"])

    # Solana: quote, then open.
    quote = step("quote", [("OPENING", "QUOTED")], lambda: purchase.purchase(
        settings, buyer.public_key, "starter-unlimited", {"currency": "SOL"}, None)[1])
    signature = pay(quote)
    step("open", [("OPENING", "OPENED")], lambda: confirm.confirm_payment(
        settings, rpc, buyer.public_key, quote["opening_id"], {"tx_signature": signature}))

    # Expiry of an unpaid quote; a payment made after expiry, found by the sweep, then refunded by an operator.
    later = datetime.now(UTC) + timedelta(hours=1)
    purchase.purchase(settings, buyer.public_key, "genesis-drop", {"currency": "SOL"}, None)
    step("expire", [("OPENING", "EXPIRED")], lambda: expiry.sweep(settings, rpc, now=later))
    late = purchase.purchase(settings, buyer.public_key, "genesis-drop", {"currency": "SOL"}, None)[1]
    record = store.get_opening(late["opening_id"])
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    record.update(actions=[store.OpeningRecord.quote_expires_at.set(past), store.OpeningRecord.expires_at.set(past)])
    late_signature = pay(late)
    step("late-payment", [("OPENING", "REFUND_DUE")],  # QUOTED -> REFUND_DUE: one transition
         lambda: expiry.sweep(settings, rpc, now=later + timedelta(minutes=5)))
    step("refunded", [("OPENING", "REFUNDED")], lambda: admin.mark_refunded(
        ADMIN, late["opening_id"], {"refund_reference": late_signature}, "refund-1"))

    # Card: a checkout (reserve + session), then Stripe's signed webhook opens it.
    urls = {"success_url": f"{SHOP}/done", "cancel_url": f"{SHOP}/cancelled"}
    card = step("checkout", [("OPENING", "QUOTED"), ("OPENING", "CHECKOUT_CREATED")], lambda: checkout.create_checkout(
        settings, cards, buyer.public_key, "genesis-drop", dict(urls), None)[1])
    stripe_double.pay_session(double.state, card["checkout_session_id"])
    (completed,) = [e for e in double.state.events if e["type"] == "checkout.session.completed"
                    and e["data"]["object"]["id"] == card["checkout_session_id"]]
    payload = json.dumps(completed).encode()
    header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()))
    step("webhook", [("OPENING", "OPENED")],
         lambda: card_settlement.handle_webhook(settings, cards, payload, header))
    step("webhook-again", [],
         lambda: card_settlement.handle_webhook(settings, cards, payload, header))  # a redelivery: nothing

    # Credits: a top-up paid on Solana is credited; a grant; an opening from the balance; a buyback; rotation.
    topup = step("topup-quote", [("OPENING", "QUOTED")], lambda: purchase.purchase_bundle(
        settings, buyer.public_key, "credits-500", {"currency": "SOL"}, None)[1])
    topup_signature = pay(topup)
    step("topup", [("OPENING", "CREDITED")], lambda: confirm.confirm_payment(
        settings, rpc, buyer.public_key, topup["opening_id"], {"tx_signature": topup_signature}))
    step("grant", [("CREDITS", "CREDITS_ADJUSTED")], lambda: store.grant_credits(
        buyer.public_key, 100, "grant:trail", "ops", "goodwill"))
    balance_open.seeds_view(buyer.public_key)
    opened = step("balance-open", [("OPENING", "OPENED")], lambda: purchase.purchase(
        settings, buyer.public_key, "starter-unlimited", {"currency": "CREDIT"}, None)[1])
    item = opened["items"][0]["vault_item_id"]
    step("buyback", [("WALLET", "ITEM_SOLD_BACK")],
         lambda: credits.sell_back(buyer.public_key, opened["opening_id"], item))
    step("buyback-again", [],
         lambda: credits.sell_back(buyer.public_key, opened["opening_id"], item))
    step("rotate", [("SEEDS", "SEED_PAIR_ROTATED")],
         lambda: balance_open.rotate(buyer.public_key, {}))

    # Operators: a catalog edit, a no-op edit, a status change.
    step("rename", [("PACK", "PACK_UPDATED")], lambda: admin.patch_pack(ADMIN, "starter-unlimited", {"name": "Starter"},
                                                                   "rename-1"))
    step("rename-same", [], lambda: admin.patch_pack(ADMIN, "starter-unlimited", {"name": "Starter"},
                                                           "rename-2"))
    step("deactivate", [("PACK", "PACK_DEACTIVATED")],
         lambda: admin.set_pack_status(ADMIN, "starter-unlimited", "INACTIVE", "off-1"))
