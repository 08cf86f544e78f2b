"""Notifications on DynamoDB Local (its real stream, read as the local stack's event source mapping reads it) and
moto's server (SQS with the template's queues, SES): the stream is the outbox, so a crash between the state change
and the send loses nothing; copies of one queue message make one attempt sequence; a receiver failing three times
then answering gets the same notification id each time, signed so that a receiver written from the docs verifies
it; a private address is refused outside dev, at registration and at connect time; receipts are escaped."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import template
from local.sqs import LocalSqs
from local.streams import StreamPoller
from local.webhook_receiver import WebhookReceiver, verify
from packvault import store
from packvault.accounts import principal
from packvault.core.errors import PackvaultError
from packvault.core.settings import ConfigurationError, Settings
from packvault.notifications import catalogue, delivery, endpoints, fanout
from packvault.notifications.receipts import receipt
from tests.integration.test_entitlements import PLATFORM, PRODUCT, bought

SENDER = "no-reply@packvault.localhost"
STREAM = True  # the table with its stream, as deployed (tests/conftest.py: local_table)


@pytest.fixture(scope="module")
def moto_server():
    import boto3

    server = LocalSqs()
    queues = server.create_queues(template.load())
    boto3.client("sesv2", endpoint_url=server.endpoint, region_name="us-east-1").create_email_identity(
        EmailIdentity=SENDER)
    yield server, queues
    server.shutdown()


@pytest.fixture
def env(local_table, solana_node, moto_server, monkeypatch):
    from local.wallet import RpcWallet
    from packvault.catalog import entitlements as catalog
    from packvault.catalog.loader import load_catalog_file
    from packvault.chain.rpc import SolanaRpc
    from tests.conftest import DEMO_CATALOG

    server, queues = moto_server
    load_catalog_file(DEMO_CATALOG)
    catalog.put_definition(catalog.check_definition(PRODUCT))
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": PLATFORM.public_key, "SOLANA_RPC_URLS": solana_node.url, "JWT_SIGNING_KEY": "k" * 40,
        "SQS_ENDPOINT": server.endpoint, "NOTIFICATIONS_QUEUE_URL": queues["NotificationsQueue"],
        "NOTIFICATIONS_DEAD_LETTER_URL": queues["NotificationsDeadLetterQueue"], "MAIL_FROM": SENDER,
        "SES_ENDPOINT": server.endpoint, "WEBHOOKS_ALLOW_PRIVATE": "true"})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "local")
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url), server, queues


def stream_poller(settings: Settings, handle: Any) -> StreamPoller:
    source = next(s for s in template.stream_sources(template.load()) if s.function_id == "NotifyFunction")
    return StreamPoller(settings.dynamodb_endpoint, settings.table_name, source, handle, threading.Event())


def fan_out_from_stream(settings: Settings) -> int:
    """Everything the stream holds so far, handed to the fan-out exactly as the notify function gets it."""
    made = [0]

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        made[0] += fanout.fan_out(settings, [fanout.plain(r["dynamodb"]["NewImage"]) for r in event["Records"]])
        return {"batchItemFailures": []}

    poller = stream_poller(settings, handle)
    while poller.poll_once():
        pass
    return made[0]


def queued(server: Any, queue_url: str) -> list[dict[str, Any]]:
    found = []
    while messages := server.client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                    WaitTimeSeconds=0).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            server.client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def registered(settings: Settings, receiver: WebhookReceiver, types: Any = "*") -> str:
    created = endpoints.create(settings, receiver.url, types)
    receiver.secret = created["secret"]
    return created["endpoint_id"]


def test_a_purchase_reaches_a_subscribed_endpoint_signed_and_only_once(env):
    settings, _, _, server, queues = env
    queued(server, queues["NotificationsQueue"])
    receiver = WebhookReceiver().start()
    endpoint_id = registered(settings, receiver, ["entitlement.purchased"])
    _, holding_id = bought(env[:3])
    assert fan_out_from_stream(settings) == 1
    fan_out_from_stream(settings)  # the stream read again from the start (a replay): no second delivery row
    messages = queued(server, queues["NotificationsQueue"])
    assert len({m["delivery"] for m in messages}) == 1  # a copy at most: it had no attempt yet
    outcomes = [delivery.deliver(settings, m["delivery"]) for m in messages]
    assert outcomes.count("delivered") == 1 and set(outcomes) <= {"delivered", "skipped"}
    message = messages[0]
    (got,) = receiver.received()
    assert got["type"] == "entitlement.purchased" and got["data"]["holding_id"] == holding_id
    assert got["data"]["units_remaining"] == 20 and set(got) == {"id", "type", "created", "data"}
    row = store.get_delivery(message["delivery"])
    assert (row.status, int(row.attempts), row.last_status) == ("DELIVERED", 1, 204)
    assert row.receiver == endpoint_id
    receiver.shutdown()


def test_a_crash_between_the_change_and_the_send_loses_nothing(env, monkeypatch):
    settings, _, _, server, queues = env
    queued(server, queues["NotificationsQueue"])
    receiver = WebhookReceiver().start()
    registered(settings, receiver, ["entitlement.purchased"])
    bought(env[:3])
    real = fanout.enqueue
    monkeypatch.setattr(fanout, "enqueue", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    assert fan_out_from_stream(settings) == 0  # the function crashed: the delivery row written, no message sent
    assert queued(server, queues["NotificationsQueue"]) == []
    monkeypatch.setattr(fanout, "enqueue", real)
    assert fan_out_from_stream(settings) == 1  # the stream hands the event over again: queued now
    (message,) = queued(server, queues["NotificationsQueue"])
    assert delivery.deliver(settings, message["delivery"]) == "delivered" and len(receiver.received()) == 1
    receiver.shutdown()


def test_twenty_copies_of_one_message_make_one_attempt(env):
    settings = env[0]
    receiver = WebhookReceiver().start()
    endpoint_id = registered(settings, receiver)
    notification = {"id": "evt_" + "a" * 26, "type": "opening.opened", "created": "2026-12-04T00:00:00.000Z",
                    "data": {"opening_id": "x"}}
    store.create_delivery(endpoint_id, notification)
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: delivery.deliver(settings, f"{endpoint_id}#{notification['id']}"),
                                 range(20)))
    assert outcomes.count("delivered") == 1 and outcomes.count("skipped") == 19
    assert len(receiver.attempts) == 1
    receiver.shutdown()


def test_three_failures_then_success_with_the_same_id_each_time(env):
    settings, _, _, server, queues = env
    queued(server, queues["NotificationsQueue"])
    receiver = WebhookReceiver(fail_first=3).start()
    endpoint_id = registered(settings, receiver)
    notification = {"id": "evt_" + "b" * 26, "type": "order.succeeded", "created": "2026-12-04T00:00:00.000Z",
                    "data": {"order_id": "o"}}
    store.create_delivery(endpoint_id, notification)
    delivery_id = f"{endpoint_id}#{notification['id']}"
    now = datetime.now(UTC)
    outcomes = [delivery.deliver(settings, delivery_id, now=now)]
    for _ in range(3):
        row = store.get_delivery(delivery_id)
        assert delivery.deliver(settings, delivery_id, now=now) == "skipped"  # a copy before its time
        now = datetime.fromisoformat(row.next_attempt_at.replace("Z", "+00:00")) + timedelta(seconds=1)
        outcomes.append(delivery.deliver(settings, delivery_id, now=now))
    assert outcomes == ["retry_scheduled"] * 3 + ["delivered"]
    assert [a["answered"] for a in receiver.attempts] == [500, 500, 500, 204]
    assert {a["headers"]["webhook-id"] for a in receiver.attempts} == {notification["id"]}
    assert all(a["verified"] for a in receiver.attempts)
    waiting = server.client.get_queue_attributes(QueueUrl=queues["NotificationsQueue"], AttributeNames=[
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert int(waiting["ApproximateNumberOfMessagesDelayed"]) == 3  # one retry per failure, delayed until due
    receiver.shutdown()


def test_a_receiver_failing_past_the_schedule_is_dead_lettered_and_disabled(env):
    settings, _, _, server, queues = env
    queued(server, queues["NotificationsDeadLetterQueue"])
    receiver = WebhookReceiver(fail_first=100).start()
    endpoint_id = registered(settings, receiver)
    notification = {"id": "evt_" + "c" * 26, "type": "opening.opened", "created": "2026-12-04T00:00:00.000Z",
                    "data": {}}
    store.create_delivery(endpoint_id, notification)
    delivery_id = f"{endpoint_id}#{notification['id']}"
    now = datetime.now(UTC)
    for expected in ("retry_scheduled", "retry_scheduled", "failed"):
        assert delivery.deliver(settings, delivery_id, now=now, schedule=(1, 1)) == expected
        now += timedelta(seconds=5)
    (dead,) = queued(server, queues["NotificationsDeadLetterQueue"])
    assert dead["delivery"] == delivery_id and dead["last_status"] == 500
    endpoint = store.get_endpoint(endpoint_id)
    assert not endpoint.active and "failed 3 times" in endpoint.disabled_reason
    replayed = delivery.replay(delivery_id, settings)
    assert replayed["status"] == "PENDING" and replayed["attempts"] == 0
    receiver.shutdown()


def test_private_addresses_are_refused_outside_dev_at_registration_and_at_send(env):
    settings, _, _, _, _ = env
    prod = settings.model_copy(update={"stage": "prod", "webhooks_allow_private": False})
    plain_dev = settings.model_copy(update={"webhooks_allow_private": False})  # dev without the local flag
    with pytest.raises(PackvaultError):
        endpoints.check_url(plain_dev, "http://127.0.0.1:9/hooks")
    with pytest.raises(ConfigurationError):
        Settings.from_env({"STAGE": "prod", "TABLE_NAME": "t-x", "WEBHOOKS_ALLOW_PRIVATE": "true"})
    for url in ("https://127.0.0.1/hooks", "https://localhost/h", "https://10.0.0.8/h", "http://example.com/h",
                "https://user@example.com/h", "ftp://example.com"):
        with pytest.raises(PackvaultError) as refused:
            endpoints.check_url(prod, url)
        assert refused.value.code == "WEBHOOK_URL_INVALID", url
    endpoint = store.WebhookEndpointRecord(pk=store.endpoint_pk("we_" + "0" * 20), sk="ENDPOINT",
                                           gsi1sk="we_" + "0" * 20, endpoint_id="we_" + "0" * 20,
                                           url="https://127.0.0.1:9/hooks", event_types=["opening.opened"],
                                           secret="whsec_" + "A" * 44, active=True, created_at="x", updated_at="x")
    endpoint.save()  # as if it had been registered before the address changed
    store.create_delivery(endpoint.endpoint_id, {"id": "evt_" + "d" * 26, "type": "opening.opened",
                                                 "created": "x", "data": {}})
    assert delivery.deliver(prod, f"{endpoint.endpoint_id}#evt_{'d' * 26}") == "retry_scheduled"
    row = store.get_delivery(f"{endpoint.endpoint_id}#evt_{'d' * 26}")
    assert row.last_status is None and row.last_error.startswith("refused")


def test_a_buyer_with_an_email_gets_the_receipt_and_can_turn_it_off(env):
    settings, _, _, server, queues = env
    queued(server, queues["NotificationsQueue"])
    buyer, _ = bought(env[:3])
    principal.link(buyer, store.new_identity(buyer, "email", "buyer@example.com"))  # its account is made now
    fan_out_from_stream(settings)
    messages = queued(server, queues["NotificationsQueue"])
    (mine,) = [m for m in messages if m["delivery"].startswith(f"email:{buyer}#")]
    assert delivery.deliver(settings, mine["delivery"]) == "delivered"
    import requests

    sent = requests.get(f"{server.endpoint}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
    (mail,) = [m for m in sent if m["destinations"]["ToAddresses"] == ["buyer@example.com"]]
    assert "20 of 20 meals" in mail["body"] and "Your pack of meals" in mail["subject"]
    store.set_email_receipts(buyer, False)
    assert not fanout._emailable(buyer)


def test_the_signature_verifies_with_the_docs_five_lines_and_the_library_and_nothing_else():
    from standardwebhooks import Webhook

    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"id":"evt_1","type":"opening.opened"}'
    headers = delivery.signature_headers(secret, "evt_1", body)
    assert verify(secret, headers, body.encode())
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert not verify(secret, headers, body.replace("opened", "refunded").encode())
    old = delivery.signature_headers(secret, "evt_1", body, datetime.now(UTC) - timedelta(minutes=10))
    assert not verify(secret, old, body.encode())
    assert not verify("whsec_" + "A" * 32, headers, body.encode())


def test_receipts_escape_hostile_item_names_and_the_catalogue_is_complete():
    items = [{"name": "Bad\r\nBcc: x@y.z", "rarity": "<b>", "fmv": "1"}]
    hostile = {"type": "opening.opened", "data": {"name": "<script>alert(1)</script>", "proof_url": "/p",
                                                  "items": items}}
    _, text, html = receipt(hostile)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html
    assert "\r" not in text and "Bcc: x@y.z" in text.replace("\n", " ")  # one line: no header injection
    assert set(catalogue.EMAILED) <= set(catalogue.TYPES)
    assert {"opening.opened", "opening.refunded", "opening.refund_due", "order.succeeded", "order.failed",
            "order.refund_due", "credits.topped_up", "entitlement.purchased", "entitlement.exhausted"} <= set(
        catalogue.TYPES)


def test_a_bundle_notifies_partners_of_every_unit_and_emails_its_buyer_once(env):
    """Three packs for one payment: opening.opened for each unit (each is an opening a partner may track), one
    receipt email (the lead's, saying it was one of three)."""
    from local.wallet import solders_keypair
    from packvault.edge import purchasing as purchase
    from packvault.rails.solana import confirm
    from packvault_tools.client import Keypair

    settings, rpc, chain, server, queues = env
    queued(server, queues["NotificationsQueue"])
    receiver = WebhookReceiver().start()
    endpoint_id = registered(settings, receiver, ["opening.opened"])
    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, "starter-unlimited", {"quantity": 3}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"])
    principal.link(keypair.public_key, store.new_identity(keypair.public_key, "email", "bulk@example.com"))
    confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"], {"tx_signature": signature})
    fan_out_from_stream(settings)
    messages = queued(server, queues["NotificationsQueue"])
    to_partner = {m["delivery"] for m in messages if m["delivery"].startswith(f"{endpoint_id}#")}
    emails = {m["delivery"] for m in messages if m["delivery"].startswith("email:")}
    assert len(to_partner) == 3 and len(emails) == 1
    for delivery_id in to_partner | emails:
        assert delivery.deliver(settings, delivery_id) == "delivered"
    assert {n["data"]["opening_id"] for n in receiver.received("opening.opened")} == {
        u["opening_id"] for u in quote["units"]}
    import requests

    sent = requests.get(f"{server.endpoint}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
    (mail,) = [m for m in sent if m["destinations"]["ToAddresses"] == ["bulk@example.com"]]
    assert "The first of 3 packs you bought together" in mail["body"]
    receiver.shutdown()
