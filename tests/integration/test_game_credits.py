"""Game-credit top-ups on DynamoDB Local, LiteSVM payments, moto's SQS server and the vendor double: a payment
makes one order however often and however concurrently it is submitted; seed 001's refusals; a wrong amount is
kept for a refund; delivery happens once through redeliveries, retries and timeouts; refusals and exhausted
retries end in refund_due; a lost queue message is sent again by the sweep."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local import template
from local.sqs import LocalSqs
from local.vendor_double import VendorDouble
from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import sweeping as expiry
from packvault.products import fulfilment, game_credits
from packvault.products.vendor import VendorClient
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PLATFORM = Keypair.generate()
VENDOR_KEY = "vendor_test_key"
FIELDS = {"game_account_id": "12345678", "server_id": "2051", "in_game_name": "PlayerOne"}


@pytest.fixture(scope="module")
def sqs():
    server = LocalSqs()
    queues = server.create_queues(template.load())
    yield server, queues
    server.shutdown()


@pytest.fixture(scope="module")
def vendor_double():
    server = VendorDouble(0, VENDOR_KEY).start()
    yield server
    server.shutdown()


@pytest.fixture
def env(local_table, solana_node, sqs, vendor_double, monkeypatch):
    server, queues = sqs
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "local")
    load_catalog_file(DEMO_CATALOG)
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": PLATFORM.public_key, "SOLANA_RPC_URLS": solana_node.url, "SQS_ENDPOINT": server.endpoint,
        "FULFILMENT_QUEUE_URL": queues["FulfilmentQueue"], "VENDOR_API_URL": vendor_double.url,
        "VENDOR_API_KEY": VENDOR_KEY, "FULFILMENT_MAX_ATTEMPTS": "3"})
    monkeypatch.setattr("packvault.core.settings.get_settings", lambda: settings)  # the process settings, as Lambda
    vendor = VendorClient(vendor_double.url, VENDOR_KEY, timeout=(1.0, 1.0), attempts=2, backoff_seconds=0.01)
    while messages(server, queues["FulfilmentQueue"]):  # each test sees only its own messages
        pass
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url), vendor, server, queues["FulfilmentQueue"]


def buyer(chain: RpcWallet) -> Keypair:
    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    return keypair


def pay(chain: RpcWallet, keypair: Keypair, sol: str = "0.01") -> str:
    return chain.pay(solders_keypair(keypair), PLATFORM.public_key, int(float(sol) * 10**9 + 0.5))


def submit(settings, rpc, keypair, signature, item="mlbb-86", fields=FIELDS, extra=None):
    return game_credits.submit_paid_order(settings, rpc, keypair.public_key, item, signature, dict(fields), extra)


def refused(code: str, call, *args, **kwargs) -> PackvaultError:
    with pytest.raises(PackvaultError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_body()
    return caught.value


def messages(server: LocalSqs, queue_url: str) -> list[str]:
    found = server.client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    for message in found.get("Messages", []):
        server.client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"])["order_id"] for m in found.get("Messages", [])]


def vendor_calls(double: VendorDouble, order_id: str) -> int:
    return requests.get(f"{double.url}/_double/deliveries", timeout=5).json()["calls"].get(order_id, 0)


def test_a_paid_order_is_created_paid_claimed_and_queued(env):
    settings, rpc, chain, _, server, queue = env
    keypair = buyer(chain)
    created, order = submit(settings, rpc, keypair, pay(chain, keypair), extra={"zone_id": "Asia"})
    assert created and order["status"] == "paid" and (order["amount"], order["currency"]) == ("0.01", "SOL")
    assert order["order_number"].startswith("ORD-") and len(order["order_number"].split("-")[2]) == 4
    assert order["user_data"] == {**FIELDS, "zone_id": "Asia"}
    assert order["crypto_transaction"]["state"] in {"confirmed", "finalized"}
    assert messages(server, queue) == [order["id"]]
    record = store.get_order(order["id"])
    assert record.expiry_shard.startswith("F") and store.get_payment_claim("solana", record.payment_id) is not None
    assert [e.event_type for e in store.events_of(record.pk)] == ["ORDER_PAID"]


def test_twenty_concurrent_submissions_of_one_payment_make_one_order(env):
    settings, rpc, chain, _, server, queue = env
    keypair = buyer(chain)
    signature = pay(chain, keypair)
    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(lambda _: submit(settings, rpc, keypair, signature), range(20)))
    assert len({order["id"] for _, order in outcomes}) == 1
    assert sum(created for created, _ in outcomes) == 1
    assert len(store.wallet_orders(keypair.public_key, 50, None).rows) == 1
    assert len(messages(server, queue)) == 1


def test_seed_001_refusals_in_its_words(env):
    settings, rpc, chain, _, _, _ = env
    keypair, stranger = buyer(chain), buyer(chain)
    unknown = "5" * 87
    assert refused("TRANSACTION_NOT_FOUND", submit, settings, rpc, keypair, unknown).message == \
        "Transaction not found on blockchain"
    theirs = pay(chain, stranger)
    assert refused("SENDER_MISMATCH", submit, settings, rpc, keypair, theirs).message.startswith(
        f"Transaction sender {stranger.public_key[:6]}... does not match expected {keypair.public_key[:6]}...")
    mine = pay(chain, keypair)
    submit(settings, rpc, keypair, mine)
    used = refused("SIGNATURE_ALREADY_USED", submit, settings, rpc, keypair, mine, item="mlbb-172")
    assert used.message == "This transaction has already been used"
    assert used.details["problems"] == ["This transaction signature has already been used for another order"]
    assert refused("USER_DATA_INVALID", submit, settings, rpc, keypair, pay(chain, keypair),
                   fields={"game_account_id": "12345678"}).details["problems"] == [
        "(user data): 'server_id' is a required property"]
    assert refused("USER_DATA_INVALID", submit, settings, rpc, keypair, pay(chain, keypair),
                   extra={"favourite_colour": "red"}).status == 400
    assert refused("TOPUP_ITEM_NOT_FOUND", submit, settings, rpc, keypair, pay(chain, keypair), item="nope").status \
        == 404
    assert refused("INVALID_TX_SIGNATURE", submit, settings, rpc, keypair, "not-a-signature").status == 400


def test_only_the_identical_request_replays_a_used_signature(env):
    """Seed 001's error 4 for a used signature sent again for another game account (or product); the identical
    request gets its order back."""
    settings, rpc, chain, _, _, _ = env
    keypair = buyer(chain)
    signature = pay(chain, keypair)
    created, first = submit(settings, rpc, keypair, signature)
    again_created, again = submit(settings, rpc, keypair, signature)
    assert created and not again_created and again["id"] == first["id"]
    other_account = {**FIELDS, "game_account_id": "87654321"}
    used = refused("SIGNATURE_ALREADY_USED", submit, settings, rpc, keypair, signature, fields=other_account)
    assert used.message == "This transaction has already been used"
    refused("SIGNATURE_ALREADY_USED", submit, settings, rpc, keypair, signature, extra={"zone_id": "EU"})


def test_a_pay_first_usdt_transfer_is_recognised_from_its_mint_without_a_currency(env, monkeypatch):
    from solders.keypair import Keypair as SoldersKeypair

    from packvault.core import money

    settings, rpc, chain, _, _, _ = env
    authority = SoldersKeypair()
    chain.airdrop(str(authority.pubkey()), 10**10)
    usdt = chain.create_mint(authority, 6)
    monkeypatch.setitem(money.CURRENCIES, "USDT", money.CURRENCIES["USDT"])  # restored after the test
    money.configure_mints({"USDT": str(usdt)})
    keypair = buyer(chain)
    chain.mint_to(authority, usdt, solders_keypair(keypair).pubkey(), 10_000_000)
    signature = chain.pay_token(solders_keypair(keypair), PLATFORM.public_key, usdt, 1_490_000, 6,
                                create_recipient_account=True)
    created, order = submit(settings, rpc, keypair, signature)  # no currency: seed 001's client sends none
    assert created and (order["currency"], order["amount"], order["status"]) == ("USDT", "1.49", "paid")
    sol_created, sol_order = submit(settings, rpc, keypair, pay(chain, keypair))
    assert sol_created and sol_order["currency"] == "SOL"


def test_a_wrong_amount_is_refused_in_seed_001s_words_and_kept_for_a_refund(env):
    settings, rpc, chain, _, server, queue = env
    keypair = buyer(chain)
    signature = pay(chain, keypair, "0.003")
    error = refused("AMOUNT_MISMATCH", submit, settings, rpc, keypair, signature)
    assert error.message == "Transaction amount 0.003 SOL does not match expected 0.01 SOL"
    (order,) = store.wallet_orders(keypair.public_key, 10, None).rows
    assert order.status == "refund_due" and order.failure["code"] == "AMOUNT_MISMATCH"
    assert messages(server, queue) == []  # nothing to deliver
    assert refused("SIGNATURE_ALREADY_USED", submit, settings, rpc, keypair, signature, item="mlbb-172")


def test_within_the_tolerance_is_accepted(env):
    settings, rpc, chain, _, _, _ = env
    keypair = buyer(chain)
    signature = chain.pay(solders_keypair(keypair), PLATFORM.public_key, 10**7 - 50_000)  # 0.00995 SOL
    assert submit(settings, rpc, keypair, signature)[1]["status"] == "paid"


def paid_order(env, account: str = "12345678") -> str:
    settings, rpc, chain, _, server, queue = env
    keypair = buyer(chain)
    order = submit(settings, rpc, keypair, pay(chain, keypair), fields={**FIELDS, "game_account_id": account})[1]
    messages(server, queue)
    return order["id"]


def test_a_message_delivered_twice_calls_the_vendor_once(env, vendor_double):
    settings, _, _, vendor, _, _ = env
    order_id = paid_order(env)
    assert fulfilment.fulfil(settings, vendor, order_id) == "delivered"
    assert fulfilment.fulfil(settings, vendor, order_id) == "settled"
    assert vendor_calls(vendor_double, order_id) == 1
    record = store.get_order(order_id)
    assert record.status == "succeeded" and record.delivery["status"] == "delivered" and record.expiry_shard is None
    events = store.events_of(record.pk)
    assert [e.event_type for e in events] == ["ORDER_PAID", "ORDER_FULFILLING", "ORDER_SUCCEEDED"]
    assert {e.actor for e in events[1:]} == {"system:fulfilment"}


def test_concurrent_deliveries_of_one_order_deliver_once(env, vendor_double):
    settings, _, _, vendor, _, _ = env
    order_id = paid_order(env)

    def run(_):
        try:
            return fulfilment.fulfil(settings, vendor, order_id)
        except fulfilment.RetryLater:
            return "retry"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(run, range(8)))
    assert outcomes.count("delivered") == 1 and set(outcomes) <= {"delivered", "retry", "settled"}
    assert vendor_calls(vendor_double, order_id) == 1


def test_vendor_timeouts_then_success_deliver_once(env, vendor_double):
    settings, _, _, vendor, _, _ = env
    order_id = paid_order(env, "slow-account")
    with pytest.raises(fulfilment.RetryLater):  # two calls, both past the 1 s read timeout
        fulfilment.fulfil(settings, vendor, order_id)
    assert store.get_order(order_id).status == "paid"
    assert fulfilment.fulfil(settings, vendor, order_id) == "delivered"  # the redelivery
    assert len([k for k in requests.get(f"{vendor_double.url}/_double/deliveries", timeout=5).json()["deliveries"]
                if k == order_id]) == 1


def test_a_refusal_ends_in_refund_due_and_exhausted_retries_too(env, vendor_double):
    settings, _, _, vendor, _, _ = env
    rejected = paid_order(env, "reject-me")
    assert fulfilment.fulfil(settings, vendor, rejected) == "refund_due"
    record = store.get_order(rejected)
    assert record.status == "refund_due" and record.failure["code"] == "VENDOR_REJECTED"
    assert [e.event_type for e in store.events_of(record.pk)][-2:] == ["ORDER_FAILED", "ORDER_REFUND_DUE"]
    down = paid_order(env, "down-account")
    for _ in range(settings.fulfilment_max_attempts - 1):
        with pytest.raises(fulfilment.RetryLater):
            fulfilment.fulfil(settings, vendor, down)
    assert fulfilment.fulfil(settings, vendor, down) == "refund_due"
    assert store.get_order(down).failure == {"code": "VENDOR_UNAVAILABLE", "attempts": 3, "vendor": {
        "status": 503, "body": {"error": {"code": "UNAVAILABLE", "message": "try again later"}}}}
    assert fulfilment.fulfil(settings, vendor, down) == "settled"


def test_the_sweep_sends_again_a_message_that_was_lost(env, monkeypatch):
    settings, _, _, _, server, queue = env
    order_id = paid_order(env)  # its message was taken off the queue: as if lost
    report = expiry.sweep(settings, None, now=datetime.now(UTC) + timedelta(minutes=5))
    assert report.orders_resent == 1 and messages(server, queue) == [order_id]
    assert expiry.sweep(settings, None, now=datetime.now(UTC) + timedelta(minutes=6)).orders_resent == 0  # postponed


def test_orders_due_a_refund_are_listed_for_operators_and_marked_refunded_once(env):
    from packvault.edge import admin

    settings, rpc, chain, vendor, _, _ = env
    keypair = buyer(chain)
    wrong = pay(chain, keypair, "0.004")
    refused("AMOUNT_MISMATCH", submit, settings, rpc, keypair, wrong)
    rejected = paid_order(env, "reject-me")
    fulfilment.fulfil(settings, vendor, rejected)
    listed = {o["order_id"]: o for o in admin.list_refunds()["orders"]}
    (mismatched,) = [o for o in listed.values() if o["payment_id"] == wrong]
    assert (mismatched["amount"], mismatched["reason"], mismatched["payer"]) == ("0.004", "AMOUNT_MISMATCH",
                                                                                 keypair.public_key)
    assert listed[rejected]["reason"] == "VENDOR_REJECTED"
    operator = Keypair.generate().public_key
    refund_signature = pay(chain, PLATFORM_FUNDED(chain))
    status, answer = admin.mark_refunded(operator, rejected, {"refund_reference": refund_signature}, "r-1")
    assert (status, answer["status"]) == (200, "refunded")
    refused("REFUND_NOT_DUE", admin.mark_refunded, operator, rejected, {"refund_reference": refund_signature}, "r-2")
    assert rejected not in {o["order_id"] for o in admin.list_refunds()["orders"]}
    trail = admin.events(f"order:{rejected}", 20, None)["events"]
    assert [e["event_type"] for e in trail][-1] == "ORDER_REFUNDED"


def PLATFORM_FUNDED(chain: RpcWallet) -> Keypair:
    chain.airdrop(PLATFORM.public_key, 10**9)
    return PLATFORM


def test_a_payment_made_for_a_pack_quote_cannot_become_a_top_up(env):
    from packvault.edge import purchasing as purchase

    settings, rpc, chain, _, _, _ = env
    keypair = buyer(chain)
    quote = purchase.purchase(settings, keypair.public_key, "starter-unlimited", {"currency": "SOL"}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], 10**7, reference=quote["reference"],
                          memo=f"packvault:{quote['opening_id']}")
    refused("PAYMENT_FOR_A_QUOTE", submit, settings, rpc, keypair, signature)
    assert store.get_payment_claim("solana", signature) is None  # still free to confirm the quote


# --- quote first, and by card: the same open path as packs ---------------------------------------------------


def test_quote_first_a_confirmed_quote_becomes_the_paid_order_once(env, vendor_double):
    from packvault.edge import purchasing as purchase
    from packvault.rails.solana import confirm

    settings, rpc, chain, vendor, server, queue = env
    keypair = buyer(chain)
    body = {"currency": "SOL", **FIELDS, "additional_info": {"zone_id": "Asia"}}
    status, quote = purchase.purchase_game_credit(settings, keypair.public_key, "mlbb-86", body, "quote-1")
    assert status == 201 and quote["product"] == "game_credit" and quote["amount"] == "0.01"
    assert quote["user_data"] == {**FIELDS, "zone_id": "Asia"} and quote["reference"]
    assert purchase.purchase_game_credit(settings, keypair.public_key, "mlbb-86", body, "quote-1") == (201, quote)
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    path_body = {"tx_signature": signature}
    first = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], path_body)
    again = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], path_body)
    assert first.status_code == 200 and first.body["product"] == "game_credit"
    assert first.body["order_id"] == quote["opening_id"] and again.body["order_number"] == first.body["order_number"]
    order = store.get_order(quote["opening_id"])
    assert (order.status, order.payment_id, order.user_data["zone_id"]) == ("paid", signature, "Asia")
    assert messages(server, queue) == [order.order_id]
    assert fulfilment.fulfil(settings, vendor, order.order_id) == "delivered"
    assert [e.event_type for e in store.events_of(store.opening_pk(order.order_id))] == ["QUOTED", "ORDERED"]
    refused("SIGNATURE_ALREADY_USED", submit, settings, rpc, keypair, signature)  # not a second order, pay-first


def test_quote_first_refuses_bad_user_data_before_reserving(env):
    from packvault.edge import purchasing as purchase

    settings, _, chain, _, _, _ = env
    keypair = buyer(chain)
    refused("USER_DATA_INVALID", purchase.purchase_game_credit, settings, keypair.public_key, "mlbb-86",
            {"game_account_id": "12345678"}, None)
    refused("CURRENCY_NOT_ACCEPTED", purchase.purchase_game_credit, settings, keypair.public_key, "mlbb-86",
            {"currency": "USD", **FIELDS}, None)
    refused("TOPUP_ITEM_NOT_FOUND", purchase.purchase_game_credit, settings, keypair.public_key, "nope", FIELDS, None)
    assert store.open_quote_count(keypair.public_key) == 0


def test_by_card_the_paid_session_becomes_the_paid_order(env, monkeypatch, vendor_double):
    double_vendor = lambda: vendor_double  # noqa: E731
    import json as json_lib
    import time

    from local import stripe_double
    from packvault.edge import purchasing
    from packvault.rails.card import settlement as card_settlement
    from packvault.rails.card import stripe_api as stripe_checkout

    settings, _, _, vendor, server, queue = env
    double = stripe_double.StripeDouble(0, "sk_test_game_credits_0123").start()
    try:
        card_settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": settings.table_name,
                                           "DYNAMODB_ENDPOINT": settings.dynamodb_endpoint,
                                           "STRIPE_SECRET_KEY": "sk_test_game_credits_0123",
                                           "STRIPE_WEBHOOK_SECRET": "whsec_game_credits_0123",
                                           "STRIPE_API_BASE": double.url, "CHECKOUT_RETURN_ORIGINS": "https://shop.example",
                                           "SQS_ENDPOINT": settings.sqs_endpoint,
                                           "FULFILMENT_QUEUE_URL": settings.fulfilment_queue_url})
        cards = stripe_checkout.from_settings(card_settings)
        monkeypatch.setattr("packvault.core.settings.get_settings", lambda: card_settings)
        wallet = Keypair.generate().public_key
        body = {"success_url": "https://shop.example/done", "cancel_url": "https://shop.example/no", **FIELDS}
        status, started = purchasing.checkout(card_settings, cards, wallet, "mlbb-86", body, "card-1",
                                                   "game_credit")
        assert status == 201 and started["product"] == "game_credit" and started["amount"] == "1.49"
        stripe_double.pay_session(double.state, started["checkout_session_id"])
        (completed,) = [e for e in double.state.events if e["type"] == "checkout.session.completed"
                        and e["data"]["object"]["id"] == started["checkout_session_id"]]
        payload = json_lib.dumps(completed).encode()
        header = stripe_double.sign(payload, "whsec_game_credits_0123", int(time.time()))
        assert card_settlement.handle_webhook(card_settings, cards, payload, header)["outcome"] == "opened"
        order = store.get_order(started["opening_id"])
        assert (order.status, order.currency, order.amount_base_units) == ("paid", "USD", "149")
        assert messages(server, queue) == [order.order_id]
        assert fulfilment.fulfil(settings, vendor, order.order_id) == "delivered"

        # A second order refunded by card before delivery is never delivered.
        _, refunded = purchasing.checkout(card_settings, cards, wallet, "mlbb-86", body, "card-2",
                                               "game_credit")
        stripe_double.pay_session(double.state, refunded["checkout_session_id"])
        (paid,) = [e for e in double.state.events if e["type"] == "checkout.session.completed"
                   and e["data"]["object"]["id"] == refunded["checkout_session_id"]]

        def deliver(event: dict) -> str:
            body = json_lib.dumps(event).encode()
            signed = stripe_double.sign(body, "whsec_game_credits_0123", int(time.time()))
            return card_settlement.handle_webhook(card_settings, cards, body, signed)["outcome"]

        deliver(paid)
        intent = store.get_opening(refunded["opening_id"]).payment_id
        cards.refund(intent, refunded["opening_id"])
        (charge,) = [e for e in double.state.events if e["type"] == "charge.refunded"
                     and e["data"]["object"]["payment_intent"] == intent]
        assert deliver(charge) == "refunded"
        cancelled = store.get_order(refunded["opening_id"])
        assert cancelled.status == "refunded" and cancelled.failure["code"] == "REFUNDED_BEFORE_DELIVERY"
        assert fulfilment.fulfil(settings, vendor, cancelled.order_id) == "settled"
        assert vendor_calls(double_vendor(), cancelled.order_id) == 0
    finally:
        double.shutdown()


def test_a_delivery_that_dies_after_the_vendor_delivered_is_delivered_once_on_redelivery(env, vendor_double,
                                                                                      monkeypatch):
    """Crash point between two services: the vendor has delivered, our record of it is not written (the function
    died). SQS redelivers after the lease; the vendor is asked again with the same Idempotency-Key (the order id)
    and answers the same delivery: the game account is credited once, the order ends succeeded."""
    settings, _, _, vendor, _, _ = env
    order_id = paid_order(env)
    real_transition = store.transition

    def die_before_recording_success(order, sources, target, *args, **kwargs):
        if target == "succeeded":
            raise RuntimeError("died after the vendor delivered, before recording it")
        return real_transition(order, sources, target, *args, **kwargs)

    monkeypatch.setattr(store, "transition", die_before_recording_success)
    with pytest.raises(RuntimeError):
        fulfilment.fulfil(settings, vendor, order_id)
    monkeypatch.setattr(store, "transition", real_transition)
    assert store.get_order(order_id).status == "fulfilling"
    with pytest.raises(fulfilment.RetryLater):  # redelivered while the dead run's lease still holds: later
        fulfilment.fulfil(settings, vendor, order_id)
    later = time.time() + fulfilment.LEASE_SECONDS + 1
    assert fulfilment.fulfil(settings, vendor, order_id, now=later) == "delivered"
    deliveries = requests.get(f"{vendor_double.url}/_double/deliveries", timeout=5).json()
    assert list(deliveries["deliveries"]).count(order_id) == 1 and deliveries["calls"][order_id] == 2
    assert store.get_order(order_id).status == "succeeded"
