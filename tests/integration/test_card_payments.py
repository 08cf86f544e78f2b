"""Card payments on DynamoDB Local, with the official stripe library talking to the local Stripe double.

Events are taken from the double (what it would have delivered), signed as Stripe signs them and handed to the
webhook handler in the orders and multiplicities that Stripe may use: duplicates, any order, concurrently.
"""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local import stripe_double
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.rails.card import checkout
from packvault.rails.card import settlement as card_settlement
from packvault.rails.card import stripe_api as stripe_checkout
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

SECRET_KEY = "sk_test_integration_0123456789"
WEBHOOK_SECRET = "whsec_integration_0123456789abcdef"
SHOP = "https://shop.example"
URLS = {"success_url": f"{SHOP}/done?session={{CHECKOUT_SESSION_ID}}", "cancel_url": f"{SHOP}/cancelled"}


@pytest.fixture
def settings(local_table, double):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "STRIPE_SECRET_KEY": SECRET_KEY,
                              "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": double.url,
                              "CHECKOUT_RETURN_ORIGINS": SHOP, "MAX_OPEN_QUOTES": "3"})


@pytest.fixture
def cards(settings):
    return stripe_checkout.from_settings(settings)


def start(settings, cards, pack="genesis-drop", key=None, wallet=None):
    wallet = wallet or Keypair.generate().public_key
    status, answer = checkout.create_checkout(settings, cards, wallet, pack, dict(URLS), key)
    assert status == 201
    return wallet, answer


def events(double, session_id, event_type):
    return [e for e in double.state.events if e["type"] == event_type
            and session_id in {e["data"]["object"].get("id"), e["data"]["object"].get("checkout_session_id")}]


def event_for(double, session_id, event_type):
    (found,) = events(double, session_id, event_type)
    return found


def charge_event(double, payment_intent):
    return [e for e in double.state.events if e["type"] == "charge.refunded"
            and e["data"]["object"]["payment_intent"] == payment_intent][-1]


def deliver(settings, cards, event, secret=WEBHOOK_SECRET, timestamp=None, body=None):
    payload = body if body is not None else json.dumps(event, indent=2).encode()
    header = stripe_double.sign(payload, secret, timestamp or int(time.time()))
    return card_settlement.handle_webhook(settings, cards, payload, header)["outcome"]


def pay(double, session_id, asynchronous=False):
    return stripe_double.pay_session(double.state, session_id, asynchronous)


def opening(answer):
    return store.get_opening(answer["opening_id"])


def supply():
    pack = store.get_pack("genesis-drop")
    return int(pack.supply_available), int(pack.supply_reserved), int(pack.supply_sold)


def event_types(answer):
    return [e.event_type for e in store.events_of(store.opening_pk(answer["opening_id"]))]


# --- checkout creation -------------------------------------------------------------------------------


def test_checkout_reserves_first_then_creates_one_session_named_by_the_opening(settings, cards, double):
    wallet, answer = start(settings, cards)
    record = opening(answer)
    assert (record.status, record.rail, record.currency, record.amount_base_units) == ("QUOTED", "stripe", "USD",
                                                                                       "1199")
    assert record.rail_refs["checkout_session_id"] == answer["checkout_session_id"]
    session = double.state.objects[answer["checkout_session_id"]]
    assert session["metadata"] == {"opening_id": record.opening_id, "account_id": wallet, "wallet": wallet,
                                   "pack_id": "genesis-drop"}
    assert session["client_reference_id"] == record.opening_id and session["mode"] == "payment"
    assert (session["amount_total"], session["currency"]) == (1199, "usd")
    assert session["expires_at"] - int(time.time()) >= 1790  # the reservation lasts as long as the session
    assert supply() == (19, 1, 0)
    assert event_types(answer) == ["QUOTED", "CHECKOUT_CREATED"]


def test_same_idempotency_key_returns_the_original_answer_and_no_second_session(settings, cards, double):
    wallet, first = start(settings, cards, key="k-1")
    sessions = len([o for o in double.state.objects.values() if o.get("object") == "checkout.session"])
    _, again = start(settings, cards, key="k-1", wallet=wallet)
    assert again == first
    assert len([o for o in double.state.objects.values() if o.get("object") == "checkout.session"]) == sessions
    with pytest.raises(PackvaultError) as reused:
        checkout.create_checkout(settings, cards, wallet, "starter-unlimited", dict(URLS), "k-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_stripe_down_leaves_a_reservation_that_a_retry_with_the_key_completes(settings, cards, double):
    wallet = Keypair.generate().public_key
    unreachable = stripe_checkout.StripeCheckout(SECRET_KEY, WEBHOOK_SECRET, "http://127.0.0.1:9")
    with pytest.raises(PackvaultError) as down:
        checkout.create_checkout(settings, unreachable, wallet, "genesis-drop", dict(URLS), "k-down")
    assert down.value.code == "PAYMENT_PROVIDER_UNAVAILABLE" and down.value.status == 503
    assert supply() == (19, 1, 0)  # the opening was persisted before Stripe was called
    _, answer = start(settings, cards, key="k-down", wallet=wallet)
    assert supply() == (19, 1, 0)  # the same opening, not a second one
    assert opening(answer).rail_refs["checkout_session_id"] == answer["checkout_session_id"]


@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
@pytest.mark.parametrize("url", ["https://evil.example/x", "javascript:alert(1)", "/relative", "https://shop.example.evil/",
                                 "https://user@shop.example/", 42, None])
def test_return_urls_off_the_allow_list_are_refused_and_nothing_is_reserved(settings, cards, field, url):
    body = {**URLS, field: url}
    with pytest.raises(PackvaultError) as refused:
        checkout.create_checkout(settings, cards, Keypair.generate().public_key, "genesis-drop", body, None)
    assert (refused.value.code, refused.value.status, refused.value.details) == ("VALIDATION_FAILED", 400,
                                                                                  {"field": field})
    assert supply() == (20, 0, 0)


def test_sixty_four_buyers_for_twenty_units_get_exactly_twenty_sessions(settings, cards, double):
    def attempt(wallet):
        try:
            return checkout.create_checkout(settings, cards, wallet, "genesis-drop", dict(URLS), None)[1]
        except PackvaultError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, [Keypair.generate().public_key for _ in range(64)]))
    answers = [r for r in results if isinstance(r, dict)]
    assert len(answers) == 20
    assert {r.code for r in results if isinstance(r, PackvaultError)} == {"SOLD_OUT"}
    opened_ids = {a["opening_id"] for a in answers}
    sessions = [o for o in double.state.objects.values() if o.get("object") == "checkout.session"
                and o["client_reference_id"] in opened_ids]
    assert len(sessions) == 20 and {s["id"] for s in sessions} == {a["checkout_session_id"] for a in answers}
    assert supply() == (0, 20, 0)


# --- webhooks ----------------------------------------------------------------------------------------


def test_completed_and_paid_opens_once_and_a_duplicate_changes_nothing(settings, cards, double):
    wallet, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "opened"
    record = opening(answer)
    assert record.status == "OPENED" and len(record.items) == 5 and supply() == (19, 0, 1)
    assert record.payment_id.startswith("pi_") and store.get_payment_claim("stripe", record.payment_id)
    before = event_types(answer)
    assert deliver(settings, cards, completed) == "duplicate"
    assert event_types(answer) == before and supply() == (19, 0, 1)
    assert store.vault_total(wallet)[0] == 5


def test_twenty_concurrent_deliveries_of_one_event_have_one_effect(settings, cards, double):
    wallet, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: deliver(settings, cards, completed), range(20)))
    assert set(outcomes) <= {"opened", "duplicate"} and "opened" in outcomes
    assert event_types(answer).count("OPENED") == 1
    assert store.vault_total(wallet)[0] == 5 and supply() == (19, 0, 1)
    assert store.get_processed_event("stripe", completed["id"]) is not None


def test_async_payment_waits_then_opens_on_success(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"], asynchronous=True)
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "awaiting payment"
    assert opening(answer).status == "QUOTED" and supply() == (19, 1, 0)
    stripe_double.finish_async(double.state, answer["checkout_session_id"], succeeded=True)
    succeeded = event_for(double, answer["checkout_session_id"], "checkout.session.async_payment_succeeded")
    assert deliver(settings, cards, succeeded) == "opened"
    assert opening(answer).status == "OPENED"


def test_async_payment_failure_releases_the_unit(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"], asynchronous=True)
    stripe_double.finish_async(double.state, answer["checkout_session_id"], succeeded=False)
    failed = event_for(double, answer["checkout_session_id"], "checkout.session.async_payment_failed")
    assert deliver(settings, cards, failed) == "released"
    assert opening(answer).status == "EXPIRED" and supply() == (20, 0, 0)
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "already expired"  # late, unpaid: still nothing to open
    assert opening(answer).status == "EXPIRED" and supply() == (20, 0, 0)


def test_expired_releases_and_an_expired_after_opening_is_a_no_op(settings, cards, double):
    _, unpaid = start(settings, cards)
    cards.expire_session(unpaid["checkout_session_id"])
    assert deliver(settings, cards, event_for(double, unpaid["checkout_session_id"], "checkout.session.expired")) \
        == "released"
    assert opening(unpaid).status == "EXPIRED" and supply() == (20, 0, 0)

    _, paid = start(settings, cards)
    pay(double, paid["checkout_session_id"])
    assert deliver(settings, cards, event_for(double, paid["checkout_session_id"],
                                              "checkout.session.completed")) == "opened"
    late_expired = {**event_for(double, unpaid["checkout_session_id"], "checkout.session.expired"), "id": "evt_x1"}
    late_expired["data"] = {"object": {**late_expired["data"]["object"], "id": paid["checkout_session_id"],
                                       "client_reference_id": paid["opening_id"]}}
    assert deliver(settings, cards, late_expired) == "nothing to release (opened)"
    assert opening(paid).status == "OPENED" and supply() == (19, 0, 1)


def test_completed_after_the_sweep_released_reopens_when_supply_remains(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])  # paid at Stripe just as our sweep released the unit
    assert store.expire_opening(opening(answer), None, "test: sweep won the race")
    assert supply() == (20, 0, 0)
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "opened"
    assert opening(answer).status == "OPENED" and supply() == (19, 0, 1)


def test_completed_after_release_without_supply_is_refunded_through_stripe(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    assert store.expire_opening(opening(answer), None, "test: sweep won the race")
    for _ in range(7):  # the released unit, and every other, goes to other buyers
        for _ in range(3):
            try:
                start(settings, cards)
            except PackvaultError:
                break
    assert supply()[0] == 0
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "refund_due"
    record = opening(answer)
    assert record.status == "REFUND_DUE" and "REFUND_REQUESTED" in event_types(answer)
    refunded = charge_event(double, record.payment_id)
    assert refunded["data"]["object"]["refunded"] is True
    assert deliver(settings, cards, refunded) == "refunded"
    assert opening(answer).status == "REFUNDED"


def test_a_full_refund_of_an_opened_pack_revokes_its_items_without_deleting_them(settings, cards, double):
    wallet, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    deliver(settings, cards, event_for(double, answer["checkout_session_id"], "checkout.session.completed"))
    record = opening(answer)
    cards.refund(record.payment_id, record.opening_id)
    assert deliver(settings, cards, charge_event(double, record.payment_id)) == "refunded"
    assert opening(answer).status == "REFUNDED"
    page = store.wallet_vault(wallet, 10, None)
    assert len(page.rows) == 5 and all(row.revoked_at for row in page.rows)
    assert store.vault_total(wallet) == (0, 0)
    assert event_types(answer)[-1] == "REFUNDED"


def test_a_refund_before_completion_means_the_payment_opens_nothing(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    payment_intent = double.state.objects[answer["checkout_session_id"]]["payment_intent"]
    cards.refund(payment_intent, answer["opening_id"])
    assert deliver(settings, cards, charge_event(double, payment_intent)) == "refunded before settlement"
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "released"
    assert opening(answer).status == "EXPIRED" and supply() == (20, 0, 0)


def test_an_amount_mismatch_opens_nothing_and_the_money_is_refunded(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["amount_total"] = 99  # e.g. a Stripe Price that disagrees with the catalog
    assert deliver(settings, cards, completed) == "refund_due"
    record = opening(answer)
    assert record.status == "REFUND_DUE" and "amount_total is 99" in record.payment["refund_reason"]
    assert supply() == (20, 0, 0)


def test_a_currency_mismatch_opens_nothing_and_the_money_is_refunded(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["currency"] = "eur"
    assert deliver(settings, cards, completed) == "refund_due"
    assert "currency is 'eur'" in opening(answer).payment["refund_reason"]
    assert store.vault_total(opening(answer).wallet) == (0, 0)


def test_a_livemode_event_in_a_test_stage_opens_nothing_and_is_recorded(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["livemode"] = True
    assert deliver(settings, cards, completed) == "mismatch: livemode is True, this deployment expects False"
    assert opening(answer).status == "QUOTED" and supply() == (19, 1, 0)
    assert event_types(answer)[-1] == "CHECKOUT_SESSION_COMPLETED_NOTED"
    assert store.get_processed_event("stripe", completed["id"]).outcome.startswith("mismatch: livemode")


@pytest.mark.parametrize("forgery", ["tampered body", "wrong secret", "old timestamp", "future timestamp",
                                     "no header"])
def test_an_unverifiable_webhook_is_refused_and_writes_nothing(settings, cards, double, forgery):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    payload = json.dumps(completed).encode()
    header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()))
    if forgery == "tampered body":
        payload = payload.replace(b'"paid"', b'"paid" ')
    elif forgery == "wrong secret":
        header = stripe_double.sign(payload, "whsec_someone_else", int(time.time()))
    elif forgery == "old timestamp":
        header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()) - 301)
    elif forgery == "future timestamp":
        header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()) + 3600)
    else:
        header = None
    with pytest.raises(PackvaultError) as refused:
        card_settlement.handle_webhook(settings, cards, payload, header)
    assert (refused.value.code, refused.value.status) == ("WEBHOOK_SIGNATURE_INVALID", 400)
    assert store.get_processed_event("stripe", completed["id"]) is None
    assert opening(answer).status == "QUOTED" and event_types(answer) == ["QUOTED", "CHECKOUT_CREATED"]


def test_events_of_other_kinds_are_acknowledged_and_ignored(settings, cards, double):
    event = {"id": "evt_other", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    assert deliver(settings, cards, event) == "ignored"


# --- the sweep ---------------------------------------------------------------------------------------


def test_the_sweep_expires_the_session_at_stripe_before_releasing(settings, cards, double):
    _, answer = start(settings, cards)
    assert card_settlement.reconcile_due(settings, cards, opening(answer), None) == "released"
    assert double.state.objects[answer["checkout_session_id"]]["status"] == "expired"
    assert opening(answer).status == "EXPIRED" and supply() == (20, 0, 0)
    with pytest.raises(stripe_double.StripeFailure):  # nobody can pay a released quote
        pay(double, answer["checkout_session_id"])
    expired = event_for(double, answer["checkout_session_id"], "checkout.session.expired")
    assert deliver(settings, cards, expired) == "nothing to release (expired)"


def test_the_sweep_opens_a_paid_session_whose_webhook_has_not_arrived(settings, cards, double):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    assert card_settlement.reconcile_due(settings, cards, opening(answer), None) == "opened"
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "already opened"
    assert event_types(answer).count("OPENED") == 1 and supply() == (19, 0, 1)


def test_webhook_racing_the_sweep_ends_in_one_consistent_state(settings, cards, double):
    for _ in range(5):
        wallet, answer = start(settings, cards)
        pay(double, answer["checkout_session_id"])
        completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
        with ThreadPoolExecutor(max_workers=4) as pool:
            sweeps = [pool.submit(card_settlement.reconcile_due, settings, cards, opening(answer), None)
                      for _ in range(2)]
            hooks = [pool.submit(deliver, settings, cards, completed) for _ in range(2)]
            outcomes = [f.result() for f in sweeps + hooks]
        assert "opened" in outcomes, outcomes
        assert opening(answer).status == "OPENED" and event_types(answer).count("OPENED") == 1
        assert store.vault_total(wallet)[0] == 5
    available, reserved, sold = supply()
    assert (reserved, sold) == (0, 5) and available + reserved + sold == 20


@pytest.mark.parametrize("order", list(itertools.permutations(["completed", "refunded", "released"])))
def test_completed_refunded_and_sweep_release_converge_in_any_order(settings, cards, double, order):
    """A paid session whose money Stripe then refunded: in every order of its completion event, its refund
    event and our sweep's release, nobody keeps both the money and the items, and the counters add up."""
    wallet, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    payment_intent = double.state.objects[answer["checkout_session_id"]]["payment_intent"]
    cards.refund(payment_intent, answer["opening_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    refunded = charge_event(double, payment_intent)
    for step in order:
        if step == "released":
            store.expire_opening(opening(answer), None, "test: the sweep")
        else:
            deliver(settings, cards, completed if step == "completed" else refunded)
    final = opening(answer)
    assert final.status in {"REFUNDED", "EXPIRED"}, order
    assert store.vault_total(wallet) == (0, 0)
    assert all(row.revoked_at for row in store.wallet_vault(wallet, 10, None).rows)
    available, reserved, sold = supply()
    assert reserved == 0 and available + sold == 20
    for event in (completed, refunded):  # and every later delivery changes nothing
        deliver(settings, cards, event)
    assert opening(answer).status == final.status and supply() == (available, reserved, sold)


@pytest.mark.parametrize(("price_cents", "outcome"), [(1199, "opened"), (999, "refund_due")])
def test_a_stripe_price_id_is_used_and_its_amount_is_checked_against_the_catalog(settings, cards, double,
                                                                                 price_cents, outcome):
    from packvault.catalog.loader import parse_catalog

    price = stripe_double.create_price(double.state, {"unit_amount": str(price_cents), "currency": "usd",
                                                      "product_data": {"name": "Genesis Drop"}})
    document = json.loads(DEMO_CATALOG.read_text())
    for pack in document["packs"]:
        if pack["pack_id"] == "genesis-drop":
            pack["stripe_price_id"] = price["id"]
    load_catalog(parse_catalog(document))
    assert store.get_pack("genesis-drop").stripe_price_id == price["id"]
    _, answer = start(settings, cards)
    assert double.state.objects[answer["checkout_session_id"]]["amount_total"] == price_cents
    pay(double, answer["checkout_session_id"])
    assert deliver(settings, cards, event_for(double, answer["checkout_session_id"],
                                              "checkout.session.completed")) == outcome


def test_refusals_name_the_rail(settings, cards, double):
    from packvault.edge import purchasing as purchase
    from packvault.rails.solana import confirm

    with pytest.raises(PackvaultError) as no_usd:
        checkout.create_checkout(settings, cards, Keypair.generate().public_key, "vault-chase", dict(URLS), None)
    assert (no_usd.value.code, no_usd.value.message) == ("CURRENCY_NOT_ACCEPTED",
                                                         "This pack is priced in SOL, not USD.")
    with pytest.raises(PackvaultError) as usd_on_chain:
        purchase.purchase(settings, Keypair.generate().public_key, "genesis-drop", {"currency": "USD"}, None)
    assert usd_on_chain.value.code == "CURRENCY_NOT_ACCEPTED" and "/checkout" in usd_on_chain.value.message
    wallet, answer = start(settings, cards)
    from solders.keypair import Keypair as SoldersKeypair

    signature = str(SoldersKeypair().sign_message(b"any transaction"))
    with pytest.raises(PackvaultError) as wrong_rail:
        confirm.confirm_payment(settings, None, wallet, answer["opening_id"], {"tx_signature": signature})
    assert (wrong_rail.value.code, wrong_rail.value.status) == ("WRONG_RAIL", 409)
    with pytest.raises(PackvaultError) as off:
        checkout.create_checkout(settings, None, wallet, "genesis-drop", dict(URLS), None)
    assert (off.value.code, off.value.status) == ("CARD_PAYMENTS_UNAVAILABLE", 503)
    assert supply() == (19, 1, 0)  # only the one successful checkout reserved anything


def test_a_refund_after_a_buyback_revokes_the_rest_and_names_the_sold_item(settings, cards, double):
    from packvault.rails.credits import balance as credits

    wallet, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    deliver(settings, cards, event_for(double, answer["checkout_session_id"], "checkout.session.completed"))
    record = opening(answer)
    sold_id = record.items[0]["vault_item_id"]
    sale = credits.sell_back(wallet, record.opening_id, sold_id)
    cards.refund(record.payment_id, record.opening_id)
    assert deliver(settings, cards, charge_event(double, record.payment_id)) == "refunded"
    rows = {row.vault_item_id: row for row in store.wallet_vault(wallet, 10, None).rows}
    assert rows[sold_id].sold_at and not rows[sold_id].revoked_at
    assert all(row.revoked_at for key, row in rows.items() if key != sold_id)
    assert store.vault_total(wallet) == (0, 0) and store.credit_balance(wallet) == sale["credits"]
    refunded = [e for e in store.events_of(store.opening_pk(record.opening_id)) if e.event_type == "REFUNDED"]
    assert refunded[-1].payload["sold_back_before_refund"] == [sold_id]


def test_a_webhook_that_dies_after_stripe_refunded_refunds_once_and_closes_on_charge_refunded(settings, cards, double,
                                                                                              monkeypatch):
    """Crash point between two services: Stripe has made the refund, our REFUND_REQUESTED event is not written (the
    function died). The REFUND_DUE state and the event's marker were already committed together, so Stripe's
    redelivery is a duplicate (no second refund call); a retried refund returns the same refund (its idempotency key
    is per opening); charge.refunded closes the opening."""
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["amount_total"] = 99  # opens nothing: the money is due back
    real_note = store.note_refund_request

    def die_on_refund_requested(opening, request, event_type, payload):
        if event_type == "REFUND_REQUESTED":
            raise RuntimeError("died after Stripe refunded, before recording it")
        return real_note(opening, request, event_type, payload)

    monkeypatch.setattr(store, "note_refund_request", die_on_refund_requested)
    with pytest.raises(RuntimeError):
        deliver(settings, cards, completed)
    monkeypatch.setattr(store, "note_refund_request", real_note)
    record = opening(answer)
    assert record.status == "REFUND_DUE" and "REFUND_REQUESTED" not in event_types(answer)
    assert deliver(settings, cards, completed) == "duplicate"  # Stripe redelivers: applied once already
    again = cards.refund(record.payment_id, record.opening_id)  # e.g. a retry after the crash
    refunds = [o for o in double.state.objects.values() if o.get("object") == "refund"
               and o.get("payment_intent", o.get("charge")) in {record.payment_id, again.get("charge")}]
    assert len({r["id"] for r in refunds}) == 1 and again["id"] == refunds[0]["id"]
    assert deliver(settings, cards, charge_event(double, record.payment_id)) == "refunded"
    assert opening(answer).status == "REFUNDED"


def test_a_refund_stripe_refuses_stays_pending_and_the_sweep_asks_again_until_it_is_accepted(settings, cards, double):
    """A mismatched payment is due back, but Stripe refuses the refund (its balance cannot cover it): the webhook
    still answers (no 5xx, so no redelivery storm, and a redelivery would be a duplicate anyway), the opening shows
    the failure to operators, and the sweep asks again after the wait until Stripe accepts."""
    from datetime import UTC, datetime, timedelta

    from packvault.edge import admin
    from packvault.edge import sweeping as expiry

    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["amount_total"] = 99
    double.state.refuse_refunds = "balance_insufficient"
    assert deliver(settings, cards, completed) == "refund_due"
    record = opening(answer)
    request = record.payment["refund_request"]
    assert record.status == "REFUND_DUE" and request["status"] == "failed" and request["attempts"] == 1
    assert "balance_insufficient" in request["last_error"] and request["refusals"] == 1
    assert "REFUND_REQUEST_FAILED" in event_types(answer) and "REFUND_REQUESTED" not in event_types(answer)
    (listed,) = [r for r in admin.list_refunds()["refunds"] if r["opening_id"] == answer["opening_id"]]
    assert listed["refund_request"]["status"] == "failed"
    assert deliver(settings, cards, completed) == "duplicate"

    now = datetime.now(UTC)
    double.state.refuse_refunds = None
    assert card_settlement.request_due_refunds(cards, now) == 0  # its wait is not over: not asked
    assert opening(answer).payment["refund_request"]["attempts"] == 1
    report = expiry.sweep(settings, None, now=now + timedelta(seconds=61), cards=cards)
    assert report.refunds_requested == 1
    record = opening(answer)
    assert record.payment["refund_request"]["status"] == "requested" and record.payment["refund_request"]["refund_id"]
    refunds = [o for o in double.state.objects.values() if o.get("object") == "refund"
               and o.get("metadata", {}).get("opening_id") == answer["opening_id"]]
    assert len(refunds) == 1
    assert expiry.sweep(settings, None, now=now + timedelta(hours=2), cards=cards).refunds_requested == 0
    assert deliver(settings, cards, charge_event(double, record.payment_id)) == "refunded"
    assert opening(answer).status == "REFUNDED"


def test_a_refund_while_stripe_is_down_is_asked_again_with_the_same_key(settings, cards, double, monkeypatch):
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    completed["data"]["object"]["amount_total"] = 99
    keys = []
    real_refund = cards.refund

    def down(payment_intent, opening_id, refusals=0):
        keys.append(refusals)
        raise stripe_checkout.ProviderUnavailable("connection reset")

    monkeypatch.setattr(cards, "refund", down)
    assert deliver(settings, cards, completed) == "refund_due"
    monkeypatch.setattr(cards, "refund", lambda *args: keys.append(args[2]) or real_refund(*args))
    from datetime import UTC, datetime, timedelta

    assert card_settlement.request_due_refunds(cards, datetime.now(UTC) + timedelta(seconds=61)) == 1
    assert keys == [0, 0]  # nothing was refused: the same idempotency key both times
    assert opening(answer).payment["refund_request"]["status"] == "requested"


def test_an_in_flight_checkout_of_the_same_buyer_and_pack_is_answered_again(settings, cards, double, monkeypatch):
    """Seed 004 §4.1: a second checkout for the same pack within the window returns the original checkout_url."""
    wallet, first = start(settings, cards)
    _, again = start(settings, cards, wallet=wallet)
    assert again == first and supply() == (19, 1, 0)  # one reservation, one session
    sessions = [o for o in double.state.objects.values() if o.get("object") == "checkout.session"
                and o["metadata"]["wallet"] == wallet]
    assert len(sessions) == 1
    _, other_pack = start(settings, cards, pack="starter-unlimited", wallet=wallet)
    assert other_pack["opening_id"] != first["opening_id"]
    monkeypatch.setattr(checkout, "IN_FLIGHT_MIN_LEFT", checkout.IN_FLIGHT_MIN_LEFT * 100)  # too close to its end
    _, fresh = start(settings, cards, wallet=wallet)
    assert fresh["opening_id"] != first["opening_id"]
    pay(double, first["checkout_session_id"])
    deliver(settings, cards, event_for(double, first["checkout_session_id"], "checkout.session.completed"))
    monkeypatch.setattr(checkout, "IN_FLIGHT_MIN_LEFT", checkout.IN_FLIGHT_MIN_LEFT / 100)
    _, after_paid = start(settings, cards, wallet=wallet)
    assert after_paid["opening_id"] == fresh["opening_id"]  # the paid one is never answered again; the open one is


def test_an_entitlement_bought_by_card_is_a_holding_and_a_full_refund_voids_what_is_left(settings, cards, double):
    from packvault.catalog import entitlements as catalog
    from packvault.products import entitlements

    catalog.put_definition(catalog.check_definition({
        "entitlement_id": "meals-5", "name": "5 meals", "units_included": 5, "unit_label": "meal",
        "status": "ACTIVE", "prices": {"USD": "30.00"}}))
    buyer = Keypair.generate().public_key
    status, answer = checkout.create_checkout(settings, cards, buyer, "meals-5", dict(URLS), None, "entitlement")
    assert status == 201 and answer["product"] == "entitlement"
    assert double.state.objects[answer["checkout_session_id"]]["amount_total"] == 3000
    pay(double, answer["checkout_session_id"])
    completed = event_for(double, answer["checkout_session_id"], "checkout.session.completed")
    assert deliver(settings, cards, completed) == "opened"
    assert deliver(settings, cards, completed) != "opened"  # the duplicate changes nothing
    holding = store.get_holding(answer["opening_id"])
    assert (holding.account_id, int(holding.units_remaining), holding.rail) == (buyer, 5, "stripe")
    entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding.holding_id, {"units": 3, "order_ref": "o-1"})
    record = opening(answer)
    cards.refund(record.payment_id, record.opening_id)
    assert deliver(settings, cards, charge_event(double, record.payment_id)) == "refunded"
    holding = store.get_holding(answer["opening_id"])
    assert holding.status == "REFUNDED" and int(holding.units_remaining) == 2  # nothing negative, nothing erased
    (refunded,) = [e for e in store.events_of(holding.pk) if e.event_type == "PACK_REFUNDED"]
    assert (refunded.payload["units_consumed"], refunded.payload["units_voided"]) == (3, 2)


def test_lever_10_verify_opening_with_solana_rpc_does_not_call_a_card_payment_off_chain(settings, cards, double,
                                                                                        tmp_path, capsys, monkeypatch):
    """Fairness audit lever 10: `verify-opening --quote --solana-rpc` looked for a card payment (pi_...) on chain and
    answered mismatch. A checkout's answer is not a Solana quote: its commitment is checked, the chain is not
    asked (here an RPC that answers nothing: asking it would be a mismatch)."""
    from nacl.signing import SigningKey

    from packvault.fairness import quote_signing
    from packvault.sales import proofs
    from packvault_tools.cli import main

    key = SigningKey(bytes(range(32)))  # the deployment's quote-signing key (a test key)
    monkeypatch.setattr(quote_signing, "_signing_key", lambda: key)
    _, answer = start(settings, cards)
    pay(double, answer["checkout_session_id"])
    assert deliver(settings, cards, event_for(double, answer["checkout_session_id"], "checkout.session.completed")) \
        == "opened"
    record = proofs.public_proof(answer["opening_id"])
    proof_file, quote_file = tmp_path / "proof.json", tmp_path / "quote.json"
    proof_file.write_text(json.dumps(record["proof"]))
    quote_file.write_text(json.dumps(answer))
    code = main(["verify-opening", str(proof_file), "--quote", str(quote_file), "--solana-rpc", "http://127.0.0.1:9"])
    verdict = json.loads(capsys.readouterr().out)
    assert (code, verdict["verdict"]) == (0, "match"), verdict
