"""The Open Payments client's small parts: wallet addresses, the finish hash, RFC 9421 signatures (the RFC's own
Ed25519 vector, and Interledger's Node library in both directions), and how wallet errors reach a buyer."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from packvault.core.errors import ErrorCode
from packvault.rails.open_payments import checkout as open_payments_checkout
from packvault.rails.open_payments.client import (
    OpenPaymentsError,
    SellerKey,
    WalletAddressInvalid,
    amount_value,
    finish_hash_matches,
    normalise_wallet_address,
    scaled_price,
)

# RFC 9421 appendix B.1.4 (test-key-ed25519) and B.2.6 (signing a request using ed25519).
RFC_SEED = base64.urlsafe_b64decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU=")
RFC_PUBLIC_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
RFC_B26_SIGNATURE = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
INTEROP = Path(__file__).parents[1] / "fixtures" / "open_payments" / "interop.js"


@pytest.mark.parametrize(("typed", "expected"), [
    ("$wallet.example/alice", "https://wallet.example/alice"),
    ("$Wallet.Example", "https://wallet.example/.well-known/pay"),
    ("https://wallet.example/alice/", "https://wallet.example/alice"),
    ("  https://wallet.example:8443/a/b  ", "https://wallet.example:8443/a/b"),
])
def test_wallet_addresses_are_normalised(typed, expected):
    assert normalise_wallet_address(typed) == expected


@pytest.mark.parametrize("typed", ["", "alice", "http://wallet.example/alice", "https://user:pw@wallet.example/a",
                                   "https://wallet.example/a?x=1", "https://wallet.example/a#f", "ftp://w.example/a",
                                   "https://localhost/alice", "https://127.0.0.1/alice", "https://10.0.0.8/alice",
                                   "https://169.254.169.254/latest", "https://intranet/alice", "$", None, "x" * 600,
                                   # every other spelling of an internal address (the security probe's list)
                                   "https://127.1/a", "https://0177.0.0.1/a", "https://10.1/a", "https://127.0.0.1./a",
                                   "https://localhost./a", "https://0x7f.1/a", "https://2130706433/a",
                                   "https://0x7f000001/a", "https://[::1]/a", "https://[::ffff:127.0.0.1]/a",
                                   "https://[::ffff:7f00:1]/a", "https://[fe80::1]/a", "https://[fd00::1]/a",
                                   "https://100.64.0.1/a", "https://0.0.0.0/a", "https://224.0.0.1/a",
                                   "https://255.255.255.255/a", "https://192.168.1.1./a", "https://printer.local/a",
                                   "https://metadata.google.internal/a", "https://a.localhost/a", "https://[::]/a",
                                   "https://[2002:7f00:1::1]/a"])
def test_what_a_buyer_may_not_make_us_fetch(typed):
    with pytest.raises(WalletAddressInvalid):
        normalise_wallet_address(typed)


def test_plain_http_and_local_hosts_only_when_allowed():
    assert normalise_wallet_address("http://127.0.0.1:4000/alice", allow_http=True) == "http://127.0.0.1:4000/alice"


def _rafiki_hash(client_nonce, server_nonce, interact_ref, endpoint, padded=True):
    digest = hashlib.sha256("\n".join((client_nonce, server_nonce, interact_ref, endpoint)).encode()).digest()
    encoded = base64.b64encode(digest).decode()
    return encoded if padded else encoded.rstrip("=")


@pytest.mark.parametrize("endpoint", ["https://auth.wallet.example/", "https://auth.wallet.example"])
@pytest.mark.parametrize("padded", [True, False])
def test_the_finish_hash_in_both_encodings_and_both_endpoint_forms(endpoint, padded):
    received = _rafiki_hash("cn", "sn", "ref", endpoint, padded)
    assert finish_hash_matches(received, "cn", "sn", "ref", "https://auth.wallet.example")
    assert finish_hash_matches(received, "cn", "sn", "ref", "https://auth.wallet.example/")


@pytest.mark.parametrize("change", ["client_nonce", "server_nonce", "interact_ref", "endpoint"])
def test_any_changed_input_fails_the_finish_hash(change):
    inputs = {"client_nonce": "cn", "server_nonce": "sn", "interact_ref": "ref", "endpoint": "https://as.example/"}
    received = _rafiki_hash(*inputs.values())
    inputs[change] += "x"
    assert not finish_hash_matches(received, *inputs.values())
    assert not finish_hash_matches("not base64 at all!!", "cn", "sn", "ref", "https://as.example/")


def test_the_rfc_9421_ed25519_vector():
    from http_message_signatures import HTTPMessageSigner, algorithms
    from http_message_signatures.resolvers import MappingKeyResolver

    key = SellerKey("test-key-ed25519", base64.b64encode(RFC_SEED).decode())
    assert key.jwk["x"] == RFC_PUBLIC_X
    request = requests.Request("POST", "http://example.com/foo?param=Value&Pet=dog", data=b'{"hello": "world"}',
                               headers={"Host": "example.com", "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
                                        "Content-Type": "application/json", "Content-Length": "18"}).prepare()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(
        public_keys={}, private_keys={"test-key-ed25519": key.private_key}))
    signer.sign(request, key_id="test-key-ed25519", label="sig-b26", include_alg=False,
                covered_component_ids=["date", "@method", "@path", "@authority", "content-type", "content-length"],
                created=datetime.fromtimestamp(1618884473, UTC))
    assert request.headers["Signature-Input"] == ('sig-b26=("date" "@method" "@path" "@authority" "content-type" '
                                                  '"content-length");created=1618884473;keyid="test-key-ed25519"')
    assert request.headers["Signature"] == f"sig-b26=:{RFC_B26_SIGNATURE}:"


def _signed_request(key: SellerKey, body: bytes | None = b'{"walletAddress":"https://w.example/alice"}'):
    headers = {"Authorization": "GNAP token-123", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = requests.Request("POST", "https://wallet.example/op/quotes", headers=headers, data=body).prepare()
    key.sign(request)
    return request


def test_our_requests_cover_what_open_payments_requires():
    request = _signed_request(SellerKey("k1", base64.b64encode(RFC_SEED).decode()))
    signature_input = request.headers["Signature-Input"]
    assert signature_input.startswith('sig1=("@method" "@target-uri" "authorization" "content-digest" '
                                      '"content-length" "content-type");created=')
    assert 'keyid="k1"' in signature_input and "alg=" not in signature_input
    assert request.headers["Content-Digest"].startswith("sha-256=:")


def _node_library() -> Path:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js and npm are needed for the interoperability check (CI installs them)")
    from local import npm_cache

    return npm_cache.installed(["@interledger/http-signature-utils@2.0.3"], "interledger-http-signature-utils-2.0.3")


def _node(command: dict) -> dict:
    folder = _node_library()
    answer = subprocess.run([shutil.which("node"), str(INTEROP)], input=json.dumps(command), capture_output=True,
                            text=True, env={**os.environ, "NODE_PATH": str(folder / "node_modules")}, timeout=60,
                            check=True)
    return json.loads(answer.stdout)


@pytest.mark.parametrize("body", [b'{"walletAddress":"https://w.example/alice"}', None])
def test_interledgers_own_library_verifies_our_signatures(body):
    key = SellerKey("packvault-1", base64.b64encode(RFC_SEED).decode())
    request = _signed_request(key, body)
    as_node_sees_it = {"method": request.method, "url": request.url,
                       "headers": {name.lower(): value for name, value in request.headers.items()},
                       "body": (body or b"").decode() or None}
    assert _node({"verify": {"jwk": key.jwk, "request": as_node_sees_it}}) == {"headers_valid": True,
                                                                               "signature_valid": True}
    as_node_sees_it["headers"]["authorization"] = "GNAP another-token"  # a covered component changed
    assert _node({"verify": {"jwk": key.jwk, "request": as_node_sees_it}})["signature_valid"] is False


def test_the_local_wallet_provider_verifies_interledgers_signatures():
    """The other direction: a request signed by Interledger's library passes the double's verifier, so the double
    does not merely agree with our own signer."""
    from local.open_payments_double import WalletProvider

    key = SellerKey("node-key", base64.b64encode(RFC_SEED).decode())
    pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    provider = WalletProvider().start()
    try:
        shop = provider.add_account("shop", jwks=key.jwks)
        body = json.dumps({"access_token": {"access": [{"type": "incoming-payment", "actions": ["create"],
                                                        "identifier": shop}]}, "client": shop},
                          separators=(",", ":"))  # the library digests JSON.stringify(JSON.parse(body)): compact
        request = {"method": "POST", "url": f"{provider.url}/auth/",
                   "headers": {"content-type": "application/json"}, "body": body}
        signed = _node({"sign": {"private_key_pem": pem, "key_id": "node-key", "request": request}})["headers"]
        answer = requests.post(request["url"], data=body, headers={"Content-Type": "application/json", **signed},
                               timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["access_token"]["access"][0]["type"] == "incoming-payment"
        tampered = requests.post(request["url"], data=body.replace("create", "read"),
                                 headers={"Content-Type": "application/json", **signed}, timeout=10)
        assert tampered.status_code == 401 and tampered.json()["error"]["code"] == "invalid_client"
    finally:
        provider.shutdown()


def test_amounts_are_exact_integers_in_the_expected_asset():
    assert scaled_price(1199, 2) == 1199 and scaled_price(1199, 9) == 11_990_000_000
    assert amount_value({"value": "1199", "assetCode": "USD", "assetScale": 2}, "USD", 2) == 1199
    for wrong in ({"value": "1199", "assetCode": "EUR", "assetScale": 2}, {"value": "11.99", "assetCode": "USD",
                  "assetScale": 2}, {"value": "-1", "assetCode": "USD", "assetScale": 2}, None):
        with pytest.raises(ValueError):
            amount_value(wrong, "USD", 2)
    with pytest.raises(ValueError):
        scaled_price(1199, 1)


@pytest.mark.parametrize(("status", "code", "ours", "http"), [
    (0, None, ErrorCode.WALLET_PROVIDER_UNAVAILABLE, 503),
    (503, None, ErrorCode.WALLET_PROVIDER_UNAVAILABLE, 503),
    (429, "too_fast", ErrorCode.WALLET_PROVIDER_UNAVAILABLE, 503),
    (400, "invalid_request", ErrorCode.WALLET_PROVIDER_REFUSED, 422),
    (400, "invalid_client", ErrorCode.WALLET_PROVIDER_REFUSED, 422),
    (401, "invalid_continuation", ErrorCode.WALLET_PROVIDER_REFUSED, 422),
    (401, "unauthorized", ErrorCode.WALLET_PROVIDER_REFUSED, 422),
    (403, "forbidden", ErrorCode.WALLET_PROVIDER_REFUSED, 422),
    (500, "request_denied", ErrorCode.WALLET_PROVIDER_UNAVAILABLE, 503),
])
def test_every_wallet_server_error_is_a_clear_error_of_ours(status, code, ours, http):
    def failing():
        raise OpenPaymentsError("quote", status, code, "what the server said")

    with pytest.raises(Exception) as raised:
        open_payments_checkout._call(failing)
    assert raised.value.code == ours and raised.value.status == http
    if ours == ErrorCode.WALLET_PROVIDER_REFUSED:
        assert "quote" in raised.value.message and raised.value.details["step"] == "quote"


@pytest.mark.parametrize(("status", "ours"), [(404, ErrorCode.WALLET_ADDRESS_NOT_FOUND),
                                              (200, ErrorCode.WALLET_ADDRESS_NOT_FOUND),
                                              (503, ErrorCode.WALLET_PROVIDER_UNAVAILABLE)])
def test_a_wallet_address_that_does_not_answer(status, ours):
    def failing():
        raise OpenPaymentsError("wallet address", status, None, "not a wallet")

    with pytest.raises(Exception) as raised:
        open_payments_checkout._call(failing, wallet_address=True)
    assert raised.value.code == ours


@pytest.mark.parametrize("quote", [
    {"debitAmount": {"value": "1199", "assetCode": "USD", "assetScale": 2}},  # no id
    {"id": "https://w.example/quotes/1", "receiveAmount": {"value": "1199", "assetCode": "USD", "assetScale": 2},
     "debitAmount": {"value": "1199", "assetCode": "USD"}},  # no scale
    {"id": "https://w.example/quotes/1", "receiveAmount": {"value": "1199", "assetCode": "USD", "assetScale": 2},
     "debitAmount": {"value": "11.99", "assetCode": "USD", "assetScale": 2}},
    {"id": "https://w.example/quotes/1", "receiveAmount": {"value": "1000", "assetCode": "USD", "assetScale": 2},
     "debitAmount": {"value": "1000", "assetCode": "USD", "assetScale": 2}},  # short of the price
    {"id": "https://w.example/quotes/1", "receiveAmount": "1199", "debitAmount": None},
])
def test_a_malformed_or_short_quote_is_a_refusal_not_a_5xx(quote):
    from packvault.rails.open_payments.client import WalletAddress

    seller = WalletAddress("https://w.example/shop", "USD", 2, "https://w.example/auth", "https://w.example/op")
    with pytest.raises(Exception) as raised:
        open_payments_checkout._check_quote(quote, 1199, seller)
    assert raised.value.code == ErrorCode.WALLET_PROVIDER_REFUSED and raised.value.status == 422


def test_malformed_grant_answers_read_as_missing_parts():
    from packvault.rails.open_payments.client import Grant

    grant = Grant.from_answer({"access_token": "oops", "interact": {"redirect": 5, "finish": "n"},
                               "continue": {"access_token": ["x"], "uri": "https://as.example/c", "wait": "soon"}})
    assert (grant.token, grant.redirect, grant.finish, grant.continue_uri, grant.continue_token, grant.wait) == (
        None, None, "n", "https://as.example/c", None, 0)
