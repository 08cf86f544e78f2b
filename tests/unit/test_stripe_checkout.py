"""The Stripe rail's pure parts: webhook signatures through the official library, what a session must show
before it settles an opening, return-URL checks, and the double's decoding of Stripe's form encoding."""

from __future__ import annotations

import json
import time

import pytest

from local.stripe_double import decode_form, sign
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.rails.card.checkout import return_url
from packvault.rails.card.stripe_api import StripeCheckout, WebhookRejected, session_mismatch, settlement

SECRET = "whsec_unit_0123456789abcdef"
EVENT = {"id": "evt_1", "object": "event", "type": "checkout.session.completed",
         "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}}}
RAIL = StripeCheckout("sk_test_unit", SECRET)
OPENING, WALLET = "3f1c9a52-3a8e-4d55-9d0e-8f0b7c1e2a11", "Wallet111"
SESSION = {"id": "cs_test_1", "mode": "payment", "currency": "usd", "amount_total": 1199, "livemode": False,
           "status": "complete", "payment_status": "paid", "payment_intent": "pi_1",
           "metadata": {"opening_id": OPENING, "wallet": WALLET}}


def test_a_correctly_signed_event_verifies():
    payload = json.dumps(EVENT).encode()
    now = int(time.time())
    assert RAIL.verify_event(payload, sign(payload, SECRET, now), now) == EVENT


@pytest.mark.parametrize(("case", "payload", "secret", "age"), [
    ("tampered body", json.dumps({**EVENT, "id": "evt_2"}).encode(), SECRET, 0),
    ("wrong secret", json.dumps(EVENT).encode(), "whsec_other", 0),
    ("older than the library's 300 s tolerance", json.dumps(EVENT).encode(), SECRET, 301),
    ("from the future", json.dumps(EVENT).encode(), SECRET, -3600),
])
def test_a_forged_or_stale_signature_is_rejected(case, payload, secret, age):
    now = int(time.time())
    header = sign(json.dumps(EVENT).encode(), secret, now - age)
    with pytest.raises(WebhookRejected):
        RAIL.verify_event(payload, header, now)


@pytest.mark.parametrize("header", [None, "", "t=abc", "v1=deadbeef", "garbage"])
def test_a_missing_or_malformed_header_is_rejected(header):
    with pytest.raises(WebhookRejected):
        RAIL.verify_event(json.dumps(EVENT).encode(), header, int(time.time()))


def test_a_signed_body_that_is_not_an_event_is_rejected():
    payload = json.dumps({"hello": "world"}).encode()
    with pytest.raises(WebhookRejected, match="not a Stripe event"):
        RAIL.verify_event(payload, sign(payload, SECRET, int(time.time())), int(time.time()))


@pytest.mark.parametrize("payload", [b"[1]", b"null", b"1", b'"s"', b"[" * 1000 + b"]" * 1000,
                                     b'{"object": "event", "data": ' * 1000 + b"{}" + b"}" * 1000,
                                     b'{"object": "event", "data": [1]}', b'{"object": "event", "data": {"object": 1}}',
                                     b"\xff\xfe{}"])
def test_a_signed_body_that_is_not_an_event_object_is_a_clear_refusal_not_a_crash(payload):
    from packvault.core.errors import PackvaultError
    from packvault.rails.card import settlement as card_settlement

    now = int(time.time())
    header = sign(payload, SECRET, now)
    with pytest.raises(PackvaultError) as refused:
        card_settlement.handle_webhook(None, RAIL, payload, header)  # refused before any state is read
    assert refused.value.status == 400
    assert refused.value.code in {"WEBHOOK_PAYLOAD_INVALID", "WEBHOOK_SIGNATURE_INVALID"}


def test_an_unsigned_deeply_nested_body_is_refused_for_its_signature_before_it_is_parsed():
    payload = b"[" * 100000 + b"]" * 100000
    with pytest.raises(WebhookRejected, match="signature"):
        RAIL.verify_event(payload, sign(b"{}", SECRET, int(time.time())), int(time.time()))


def test_a_matching_session_settles():
    assert session_mismatch(SESSION, OPENING, WALLET, 1199, "cs_test_1", livemode=False) is None
    paid = settlement(SESSION, "webhook")
    assert (paid.rail, paid.payment_id, paid.details["received"]) == ("stripe", "pi_1", "11.99")
    assert paid.references == {"checkout_session_id": "cs_test_1", "payment_intent_id": "pi_1"}


@pytest.mark.parametrize(("change", "reason"), [
    ({"amount_total": 1198}, "amount_total is 1198"),
    ({"currency": "eur"}, "currency is 'eur'"),
    ({"livemode": True}, "livemode is True"),
    ({"mode": "subscription"}, "mode is 'subscription'"),
    ({"id": "cs_test_other"}, "is not the one created"),
    ({"metadata": {"opening_id": OPENING, "wallet": "SomeoneElse"}}, "another opening or wallet"),
    ({"metadata": {"opening_id": OPENING, "account_id": "acct_aaaaaaaaaaaaaaaaaaaaaaaa"}}, "another opening or wallet"),
])
def test_metadata_is_never_trusted_alone(change, reason):
    assert reason in session_mismatch({**SESSION, **change}, OPENING, WALLET, 1199, "cs_test_1", livemode=False)


def test_a_session_without_a_payment_intent_cannot_settle():
    with pytest.raises(ValueError, match="no PaymentIntent"):
        settlement({**SESSION, "payment_intent": None}, "webhook")


@pytest.fixture
def settings():
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": "unit", "CHECKOUT_RETURN_ORIGINS": "https://shop.example"})


def test_return_urls_on_the_allowed_origin_pass(settings):
    url = "https://shop.example/done?session={CHECKOUT_SESSION_ID}"
    assert return_url(settings, {"success_url": url}, "success_url") == url


@pytest.mark.parametrize("url", ["http://shop.example/x", "https://shop.example:444/x", "https://evil.example/",
                                 "https://shop.example@evil.example/", "//shop.example/x", "ftp://shop.example/",
                                 "https://" + "a" * 2100, ""])
def test_return_urls_elsewhere_are_refused_naming_the_field(settings, url):
    with pytest.raises(PackvaultError) as refused:
        return_url(settings, {"cancel_url": url}, "cancel_url")
    assert (refused.value.code, refused.value.details) == ("VALIDATION_FAILED", {"field": "cancel_url"})


def test_live_keys_are_refused_outside_prod_and_origins_must_be_origins():
    from packvault.core.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="live key"):
        Settings.from_env({"STAGE": "staging", "TABLE_NAME": "unit", "STRIPE_SECRET_KEY": "sk_live_x"})
    with pytest.raises(ConfigurationError, match="CHECKOUT_RETURN_ORIGINS"):
        Settings.from_env({"STAGE": "dev", "TABLE_NAME": "unit", "CHECKOUT_RETURN_ORIGINS": "https://a.example/path"})


def test_the_double_decodes_stripe_form_encoding_as_the_library_sends_it():
    body = ("mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd"
            "&line_items[0][price_data][unit_amount]=1199&line_items[0][price_data][product_data][name]=Genesis"
            "&metadata[opening_id]=abc&expires_at=1700000000")
    assert decode_form(body) == {"mode": "payment", "expires_at": "1700000000", "metadata": {"opening_id": "abc"},
                                 "line_items": [{"quantity": "1", "price_data": {
                                     "currency": "usd", "unit_amount": "1199", "product_data": {"name": "Genesis"}}}]}


def test_an_unsigned_webhook_is_refused_before_any_read_or_write(monkeypatch):
    """Why the webhook carries no per-IP limit (docs/FROM-THE-SEEDS.md): an unsigned flood costs no DynamoDB."""
    from packvault import store
    from packvault.core.errors import PackvaultError
    from packvault.rails.card import settlement as card_settlement

    def no_data_access(*_, **__):
        raise AssertionError("the store was reached")

    for name in ("get_processed_event", "get_opening", "record_processed", "get_payment_claim"):
        monkeypatch.setattr(store, name, no_data_access)
    payload = json.dumps(EVENT).encode()
    with pytest.raises(PackvaultError) as refused:
        card_settlement.handle_webhook(None, RAIL, payload, sign(payload, "whsec_forged", int(time.time())))
    assert refused.value.code == "WEBHOOK_SIGNATURE_INVALID"
