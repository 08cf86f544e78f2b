"""Accounts over HTTP on the local stack: email codes through SES on moto's server (read back as `packvault mail`
does), passkeys answered by a software authenticator (the Chromium test drives the browser's own), identities, a
Solana payment from a linked wallet, a closed account, and refusals in the one error shape."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from local.wallet import RpcWallet, solders_keypair
from packvault_tools import devstack
from packvault_tools.client import ApiError, Keypair, PackvaultClient
from tests.webauthn_device import SoftPasskey


def refused(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.body["error"]["code"]


def email_session(stack, email: str | None = None) -> tuple[PackvaultClient, dict]:
    email = email or f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    client = PackvaultClient(stack.base_url)
    client.request("POST", "/api/v1/auth/email/start", {"email": email})
    code = devstack.newest_code(json.loads(Path(stack.state_file).read_text()), email)
    session = client.request("POST", "/api/v1/auth/email/verify", {"email": email, "code": code})
    client.token = session["token"]
    return client, session


def origin_of(stack) -> str:
    return stack.base_url.replace("127.0.0.1", "localhost")


def test_email_sign_in_over_http_and_the_identities_it_shows(stack):
    client, session = email_session(stack, "Http.Buyer@Example.com")
    assert session["account_id"].startswith("acct_") and session["wallet"] is None
    view = client.request("GET", "/api/v1/me/identities")
    assert view == {"account_id": session["account_id"], "identities": [
        {"kind": "email", "id": "http.buyer@example.com", "linked_at": view["identities"][0]["linked_at"]}]}
    assert refused(lambda: client.request("DELETE", "/api/v1/me/identities/email/http.buyer%40example.com")) == \
        (409, "LAST_IDENTITY")
    openings = client.request("GET", "/api/v1/me/openings")
    assert openings["openings"] == []


def test_an_unknown_and_a_known_address_get_the_same_answer(stack):
    email_session(stack, "known-http@example.com")
    client = PackvaultClient(stack.base_url)
    known = client.request("POST", "/api/v1/auth/email/start", {"email": "known-http@example.com"})
    unknown = client.request("POST", "/api/v1/auth/email/start", {"email": f"new-{uuid.uuid4().hex[:6]}@example.com"})
    assert {k: v for k, v in known.items() if k != "email"} == {k: v for k, v in unknown.items() if k != "email"}


def test_passkey_sign_up_sign_in_and_a_linked_wallet_paying_in_sol(stack):
    api = PackvaultClient(stack.base_url)
    device = SoftPasskey(origin_of(stack))
    options = api.request("POST", "/api/v1/auth/passkey/register/options", {"name": "e2e"})["options"]
    assert options["rp"]["id"] == "localhost" and options["authenticatorSelection"]["userVerification"] == "required"
    created = api.request("POST", "/api/v1/auth/passkey/register/verify", {"credential": device.create(options)})
    login = api.request("POST", "/api/v1/auth/passkey/authenticate/options", {})["options"]
    session = api.request("POST", "/api/v1/auth/passkey/authenticate/verify", {"credential": device.get(login)})
    assert session["account_id"] == created["account_id"]
    client = PackvaultClient(stack.base_url, session["token"])
    assert refused(lambda: client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"currency": "SOL"})) \
        == (409, "WALLET_REQUIRED")
    keypair = Keypair.generate()
    challenge = client.request("POST", "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    client.request("POST", "/api/v1/me/identities/wallet", {"wallet": keypair.public_key,
                                                            "message": challenge["message"],
                                                            "signature": keypair.sign(challenge["message"].encode())})
    quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"currency": "SOL"})
    assert quote["payer_wallet"] == keypair.public_key
    wallet = RpcWallet(stack.solana_url)
    wallet.airdrop(keypair.public_key, 10**9)
    stranger = Keypair.generate()
    wallet.airdrop(stranger.public_key, 10**9)
    wrong = wallet.pay(solders_keypair(stranger), quote["receiver_wallet"], int(quote["amount_base_units"]),
                       reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
    status, _ = refused(lambda: client.request("POST", path, {"tx_signature": wrong}))
    assert status in (400, 402, 409, 422)  # a payment from a wallet not linked to the account opens nothing
    paid = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                      reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    opened = client.request("POST", path, {"tx_signature": paid})
    assert opened["status"] == "opened" and opened["payment"]["payer"] == keypair.public_key
    proof = requests.get(f"{stack.base_url}/api/v1/proofs/{quote['opening_id']}", timeout=10).json()
    assert "@" not in json.dumps(proof)  # public proofs carry no personal data


def test_a_closed_account_is_refused_everywhere(stack):
    client, session = email_session(stack)
    admin_keypair = json.loads(Path(stack.state_file).read_text())["admin_keypair"]
    operator = PackvaultClient(stack.base_url)
    operator.sign_in(Keypair.load(admin_keypair))
    closed = operator.request("POST", f"/api/v1/admin/accounts/{session['account_id']}/close",
                              {"reason": "e2e: asked to"}, headers={"idempotency-key": f"close-{uuid.uuid4()}"})
    assert closed["status"] == "CLOSED"
    assert refused(lambda: client.request("GET", "/api/v1/me/vault")) == (403, "ACCOUNT_CLOSED")
    assert refused(lambda: client.request("GET", "/api/v1/me/identities")) == (403, "ACCOUNT_CLOSED")


@pytest.mark.parametrize("body", [{"credential": "x"}, {"credential": {"id": "a", "response": {}}},
                                  {"credential": {"id": "a", "rawId": "a", "response": {"clientDataJSON": "!!"}}}, {}])
def test_a_malformed_passkey_answer_is_a_4xx_in_the_error_shape(stack, body):
    status, code = refused(lambda: PackvaultClient(stack.base_url).request(
        "POST", "/api/v1/auth/passkey/authenticate/verify", body))
    assert status == 400 and code == "INVALID_CREDENTIAL"
