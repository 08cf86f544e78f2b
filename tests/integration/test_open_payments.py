"""Open Payments on DynamoDB Local, against the local wallet provider (which validates every request and answer
against Interledger's published specs and verifies every signature): checkout, consent, finish, the sweep."""

from __future__ import annotations

import base64
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.open_payments_double import WalletProvider
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import Settings
from packvault.rails.open_payments import checkout as open_payments_checkout
from packvault.rails.open_payments.client import SellerKey
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PACK = "genesis-drop"  # USD 11.99, supply 20
PRICE = 1199
SEED = base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def provider():
    server = WalletProvider().start()
    server.add_account("shop", jwks=SellerKey("shop-key", SEED).jwks)
    yield server
    server.shutdown()


@pytest.fixture
def rail(local_table, provider):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "OPEN_PAYMENTS_WALLET_ADDRESS": f"{provider.url}/shop", "OPEN_PAYMENTS_KEY_ID": "shop-key",
        "OPEN_PAYMENTS_PRIVATE_KEY": SEED, "OPEN_PAYMENTS_FINISH_URL": "https://api.example/api/v1/open-payments/finish",
        "OPEN_PAYMENTS_ALLOW_HTTP": "true", "MAX_OPEN_QUOTES": "3"})
    return open_payments_checkout.from_settings(settings)


def buyer(provider, balance=100_00):
    name = f"buyer{secrets.token_hex(4)}"
    return name, provider.add_account(name, balance=balance)


def start(rail, provider, balance=100_00, key=None):
    name, address = buyer(provider, balance)
    status, answer = open_payments_checkout.start_checkout(rail, Keypair.generate().public_key, PACK,
                                                           {"wallet_address": address}, key)
    assert status == 201
    return name, answer


def finish_query(provider, answer, decision="approve"):
    """The buyer clicks on the consent page; the wallet sends the browser to our finish URL with this query."""
    location = provider.approve(answer["redirect_url"], decision)
    parts = urlsplit(location)
    return parts.path.rsplit("/", 1)[1], {k: v[0] for k, v in parse_qs(parts.query).items()}


def supply():
    pack = store.get_pack(PACK)
    return int(pack.supply_available), int(pack.supply_reserved), int(pack.supply_sold)


def opening(answer):
    return store.get_opening(answer["opening_id"])


def payments_for(provider, answer):
    flow = store.get_flow(answer["opening_id"])
    return [p for p in provider.outgoing_payments() if p["quoteId"] == flow.quote_id and not p["failed"]]


def events(answer):
    return [e.event_type for e in store.events_of(store.opening_pk(answer["opening_id"]))]


def test_checkout_consent_finish_opens_and_a_replayed_finish_changes_nothing(rail, provider):
    name, answer = start(rail, provider)
    assert answer["amount"] == "11.99" and answer["currency"] == "USD"
    assert answer["debit_amount"] == {"value": "11.99", "currency": "USD"}
    assert opening(answer).status == "QUOTED" and supply() == (19, 1, 0)
    key, query = finish_query(provider, answer)
    result = open_payments_checkout.finish(rail, key, query)
    assert result.status == "opened" and result.location is None
    assert opening(answer).status == "OPENED" and supply() == (19, 0, 1)
    assert provider.balance(name) == 100_00 - PRICE
    assert opening(answer).payment_id == store.get_flow(answer["opening_id"]).incoming_payment
    again = open_payments_checkout.finish(rail, key, query)
    assert again.status == "opened" and len(payments_for(provider, answer)) == 1
    assert provider.balance(name) == 100_00 - PRICE and events(answer).count("OPENED") == 1
    assert len(store.wallet_vault(opening(answer).wallet, 50, None).rows) == 5  # the items are in the buyer's vault


def test_a_wrong_hash_is_refused_and_nothing_is_paid(rail, provider):
    name, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    for forged in ({**query, "hash": base64.b64encode(b"x" * 32).decode()}, {**query, "interact_ref": "other"},
                   {"interact_ref": query["interact_ref"]}):
        with pytest.raises(PackvaultError) as refused:
            open_payments_checkout.finish(rail, key, forged)
        assert refused.value.code == ErrorCode.FINISH_HASH_INVALID and refused.value.status == 400
    assert opening(answer).status == "QUOTED" and provider.balance(name) == 100_00
    assert payments_for(provider, answer) == []
    assert open_payments_checkout.finish(rail, key, query).status == "opened"  # the real one still works


def test_unknown_keys_are_404_and_an_expired_flow_is_410(rail, provider):
    _, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    opening_id, _, _ = key.partition(".")
    for unknown in (f"{opening_id}.wrong-secret", "not-a-key", f"{'0' * 8}-0000-0000-0000-{'0' * 12}.x"):
        with pytest.raises(PackvaultError) as refused:
            open_payments_checkout.finish(rail, unknown, query)
        assert refused.value.code == ErrorCode.PAYMENT_FLOW_NOT_FOUND and refused.value.status == 404
    assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "released"
    with pytest.raises(PackvaultError) as gone:
        open_payments_checkout.finish(rail, key, query)
    assert gone.value.code == ErrorCode.PAYMENT_FLOW_EXPIRED and gone.value.status == 410
    assert payments_for(provider, answer) == [] and supply() == (20, 0, 0)


def test_concurrent_finishes_of_one_key_make_one_outgoing_payment_and_one_open(rail, provider):
    name, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: open_payments_checkout.finish(rail, key, query).status, range(8)))
    assert set(results) == {"opened"}, results
    assert len(payments_for(provider, answer)) == 1 and provider.balance(name) == 100_00 - PRICE
    assert events(answer).count("OPENED") == 1 and supply() == (19, 0, 1)


def test_expiry_racing_finish_never_loses_the_payment(rail, provider):
    outcomes = set()
    for _ in range(4):
        name, answer = start(rail, provider)
        key, query = finish_query(provider, answer)

        def finish(key=key, query=query):
            try:
                return open_payments_checkout.finish(rail, key, query).status
            except PackvaultError as refused:
                return refused.code

        with ThreadPoolExecutor(max_workers=2) as pool:
            racing = [pool.submit(finish), pool.submit(open_payments_checkout.reconcile_due, rail, opening(answer))]
            [future.result() for future in racing]
        final = opening(answer)
        paid = 100_00 - provider.balance(name)
        outcomes.add(final.status)
        assert (final.status, paid) in {("OPENED", PRICE), ("EXPIRED", 0), ("REFUND_DUE", PRICE)}, (final.status, paid)
        assert events(answer).count("OPENED") <= 1
    available, reserved, sold = supply()
    assert reserved == 0 and available + sold == 20


def test_the_sweep_opens_a_flow_whose_finish_died_after_paying_with_the_buyers_interaction_reference(
        rail, provider, monkeypatch):
    _, answer = start(rail, provider)
    key, query = finish_query(provider, answer)

    def died(*_, **__):
        raise RuntimeError("the finish request died after the outgoing payment")

    monkeypatch.setattr(open_payments_checkout, "_settle", died)
    with pytest.raises(RuntimeError):
        open_payments_checkout.finish(rail, key, query)
    monkeypatch.undo()
    assert opening(answer).status == "QUOTED" and len(payments_for(provider, answer)) == 1
    assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "opened"
    opened = opening(answer)
    assert opened.status == "OPENED" and supply() == (19, 0, 1)
    # FAIRNESS.md 13.1: the draw mixed in what the buyer's wallet created at approval, as the finish would have
    assert opened.fairness["client_seed"] == f'["{query["interact_ref"]}",null]'
    assert opened.fairness["entropy"] == {"source": "open_payments_interact_ref", "value": query["interact_ref"]}


def test_lever_4_money_reaching_the_incoming_payment_outside_the_buyers_approval_is_refunded_never_drawn(
        rail, provider):
    """v2 drew with the incoming payment's URL, which we create: an operator could predict the draw, or pay its own
    incoming payment. With no interaction reference from the buyer's wallet there is nothing to draw with."""
    _, answer = start(rail, provider)
    flow = store.get_flow(answer["opening_id"])
    requests.post(f"{provider.url}/_double/pay", json={"incoming_payment": flow.incoming_payment, "value": PRICE},
                  timeout=5).raise_for_status()
    assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "refund_due"
    refunded = opening(answer)
    assert refunded.status == "REFUND_DUE" and refunded.fairness is None and supply() == (20, 0, 0)
    assert refunded.payment["refund_reason"].startswith("paid outside the buyer's approved payment")
    assert refunded.payment_id == flow.incoming_payment  # the money is on record, claimed once


def test_the_sweep_releases_an_unpaid_flow_and_closes_its_incoming_payment(rail, provider):
    name, answer = start(rail, provider)
    assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "released"
    assert opening(answer).status == "EXPIRED" and supply() == (20, 0, 0)
    flow = store.get_flow(answer["opening_id"])
    incoming = rail.client.get_incoming_payment(flow.incoming_payment, flow.incoming_token)
    assert incoming["completed"] is True  # it accepts nothing more: a late approval cannot pay a released unit
    assert provider.balance(name) == 100_00


def test_a_partly_paid_flow_is_recorded_for_a_refund(rail, provider):
    _, answer = start(rail, provider)
    flow = store.get_flow(answer["opening_id"])
    requests.post(f"{provider.url}/_double/pay", json={"incoming_payment": flow.incoming_payment, "value": 500},
                  timeout=5).raise_for_status()
    assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "refund_due"
    assert opening(answer).status == "REFUND_DUE" and supply() == (20, 0, 0)


def test_a_rejected_grant_changes_nothing_and_an_empty_wallet_fails_cleanly(rail, provider):
    _, answer = start(rail, provider)
    key, query = finish_query(provider, answer, decision="reject")
    assert query == {"result": "grant_rejected"}
    assert open_payments_checkout.finish(rail, key, query).status == "rejected"
    assert opening(answer).status == "QUOTED"  # unverified: held until expiry
    name, poor = start(rail, provider, balance=100)
    key, query = finish_query(provider, poor)
    assert open_payments_checkout.finish(rail, key, query).status == "failed"
    assert opening(poor).status == "EXPIRED" and provider.balance(name) == 100


def test_a_passing_401_from_the_wallet_at_finish_is_retried_and_the_pack_opens(rail, provider, monkeypatch):
    """The authorization server could not fetch our keys twice (401 invalid_client): not the buyer's refusal."""
    monkeypatch.setattr(open_payments_checkout, "AUTH_RETRY_DELAYS", (0.01, 0.01, 0.01))
    name, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    provider.fail_key_resolution(2)
    assert open_payments_checkout.finish(rail, key, query).status == "opened"
    assert opening(answer).status == "OPENED" and provider.balance(name) == 100_00 - PRICE


def test_a_lasting_401_at_finish_releases_nothing_and_a_reload_opens(rail, provider, monkeypatch):
    monkeypatch.setattr(open_payments_checkout, "AUTH_RETRY_DELAYS", (0.01, 0.01, 0.01))
    name, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    provider.fail_key_resolution(10)
    with pytest.raises(PackvaultError) as unavailable:
        open_payments_checkout.finish(rail, key, query)
    assert unavailable.value.code == "WALLET_PROVIDER_UNAVAILABLE"
    assert opening(answer).status == "QUOTED" and supply() == (19, 1, 0) and provider.balance(name) == 100_00
    provider.fail_key_resolution(0)
    assert open_payments_checkout.finish(rail, key, query).status == "opened"  # the buyer reloads the page
    assert provider.balance(name) == 100_00 - PRICE


def test_wallet_errors_reserve_nothing_and_idempotency_keys_are_honoured(rail, provider):
    for address, code in ((f"{provider.url}/nobody", ErrorCode.WALLET_ADDRESS_NOT_FOUND),
                          ("ftp://wallet.example/alice", ErrorCode.WALLET_ADDRESS_INVALID),
                          ("", ErrorCode.WALLET_ADDRESS_INVALID)):
        with pytest.raises(PackvaultError) as refused:
            open_payments_checkout.start_checkout(rail, Keypair.generate().public_key, PACK,
                                                  {"wallet_address": address}, None)
        assert refused.value.code == code and refused.value.status < 500
    assert supply() == (20, 0, 0)
    wallet, (_, address) = Keypair.generate().public_key, buyer(provider)
    first = open_payments_checkout.start_checkout(rail, wallet, PACK, {"wallet_address": address}, "key-1")
    second = open_payments_checkout.start_checkout(rail, wallet, PACK, {"wallet_address": address}, "key-1")
    assert first == second and supply() == (19, 1, 0)
    with pytest.raises(PackvaultError) as reused:
        open_payments_checkout.start_checkout(rail, wallet, "vault-chase", {"wallet_address": address}, "key-1")
    assert reused.value.code == ErrorCode.IDEMPOTENCY_KEY_REUSED


def test_not_configured_is_a_clear_503():
    with pytest.raises(PackvaultError) as refused:
        open_payments_checkout.start_checkout(None, "w", PACK, {}, None)
    assert refused.value.code == ErrorCode.OPEN_PAYMENTS_UNAVAILABLE and refused.value.status == 503


class Died(RuntimeError):
    """The function's process ends here (a crash between the wallet's answer and our record of it)."""


def test_a_finish_that_dies_after_paying_opens_once_on_replay_or_after_its_lease(rail, provider, monkeypatch):
    """Crash points between two services: the outgoing payment exists at the buyer's wallet, our record of it does
    not. A replay while the claim is held waits and settles by the seller's incoming payment; a replay after the
    lease finds the grant finalized (the wallet refuses a second continuation) and still opens from the incoming
    payment instead of releasing a paid unit; with no replay at all the sweep opens it."""
    real_record = store.record_flow_outcome
    for replay in ("within the lease", "after the lease", "never (the sweep)"):
        name, answer = start(rail, provider)
        key, query = finish_query(provider, answer)
        calls = {"n": 0}

        def record_then_die(*args, calls=calls, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                raise Died("after the outgoing payment, before recording it")
            return real_record(*args, **kwargs)

        monkeypatch.setattr(store, "record_flow_outcome", record_then_die)
        with pytest.raises(Died):
            open_payments_checkout.finish(rail, key, query)
        assert provider.balance(name) == 100_00 - PRICE and opening(answer).status == "QUOTED"
        if replay == "within the lease":
            assert open_payments_checkout.finish(rail, key, query).status == "opened"
        elif replay == "after the lease":
            later = datetime.now(UTC) + timedelta(seconds=open_payments_checkout.FINISH_LEASE_SECONDS + 1)
            assert open_payments_checkout.finish(rail, key, query, now=later).status == "opened"
        else:
            assert open_payments_checkout.reconcile_due(rail, opening(answer)) == "opened"
        assert opening(answer).status == "OPENED" and events(answer).count("OPENED") == 1, replay
        assert len(payments_for(provider, answer)) == 1 and provider.balance(name) == 100_00 - PRICE, replay
    available, reserved, sold = supply()
    assert (reserved, sold) == (0, 3) and available == 17


def test_a_finish_that_dies_after_the_open_transaction_answers_the_same_on_replay(rail, provider, monkeypatch):
    from packvault.sales import settle

    _, answer = start(rail, provider)
    key, query = finish_query(provider, answer)
    real_open = settle.open_paid

    def open_then_die(*args, **kwargs):
        real_open(*args, **kwargs)
        raise Died("after the open transaction, before the answer")

    monkeypatch.setattr(open_payments_checkout, "open_paid", open_then_die)
    with pytest.raises(Died):
        open_payments_checkout.finish(rail, key, query)
    monkeypatch.setattr(open_payments_checkout, "open_paid", real_open)
    assert open_payments_checkout.finish(rail, key, query).status == "opened"
    assert events(answer).count("OPENED") == 1 and len(payments_for(provider, answer)) == 1


def test_a_bundle_paid_from_an_open_payments_wallet_opens_every_unit(rail, provider):
    """quantity 3: the buyer's wallet is asked for three prices at once (the debit amount the consent page shows);
    one outgoing payment, three openings."""
    name, address = buyer(provider)
    status, answer = open_payments_checkout.start_checkout(rail, Keypair.generate().public_key, PACK,
                                                           {"wallet_address": address, "quantity": 3}, None)
    assert status == 201 and answer["amount"] == "35.97" and answer["debit_amount"]["value"] == "35.97"
    assert supply() == (17, 3, 0)
    key, query = finish_query(provider, answer)
    assert open_payments_checkout.finish(rail, key, query).status == "opened"
    lead = opening(answer)
    units = [lead.opening_id] + [u["opening_id"] for u in lead.bundle_units]
    assert [store.get_opening(u).status for u in units] == ["OPENED"] * 3 and supply() == (17, 0, 3)
    assert provider.balance(name) == 100_00 - 3 * PRICE and len(payments_for(provider, answer)) == 1
    assert len(store.wallet_vault(lead.wallet, 50, None).rows) == 15
