"""Open Payments end to end on the local stack: the API's checkout talks to the local wallet provider (which
validates every request against Interledger's specs and verifies every signature against the seller's keys,
fetched from our own JWKS route), the buyer approves on the consent page (posted as a browser posts its form),
the wallet redirects the browser to our finish route, and the pack opens with its items in the vault."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from packvault_tools.client import ApiError, Keypair, PackvaultClient

PACK = "starter-unlimited"  # the e2e stack is shared: an unlimited pack leaves every supply as it was


def _wallets(stack) -> str:
    return json.loads(Path(stack.state_file).read_text())["open_payments_wallets"]


def _new_buyer(stack, balance: int) -> str:
    answer = requests.post(f"{_wallets(stack)}/_double/accounts",
                           json={"name": f"e2e{Keypair.generate().public_key[:8].lower()}", "balance": balance},
                           timeout=10)
    return answer.json()["wallet_address"]


def test_checkout_consent_finish_opens_and_fills_the_vault(stack):
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    jwks = requests.get(f"{stack.base_url}/api/v1/open-payments/jwks.json", timeout=10).json()
    assert jwks["keys"][0]["crv"] == "Ed25519" and "d" not in jwks["keys"][0]  # the public half only
    address = _new_buyer(stack, 50_00)
    started = client.request("POST", f"/api/v1/packs/{PACK}/open-payments/checkout", {"wallet_address": address},
                             headers={"idempotency-key": "op-e2e-1"})
    assert started["currency"] == "USD" and started["wallet_address"] == address
    consent = requests.get(started["redirect_url"], timeout=10)
    assert consent.status_code == 200 and "Approve a payment" in consent.text
    approved = requests.post(started["redirect_url"], data={"decision": "approve"}, allow_redirects=False,
                             timeout=10)
    finish_url = approved.headers["Location"]
    assert finish_url.startswith(f"{stack.base_url}/api/v1/open-payments/finish/")
    finished = requests.get(finish_url, timeout=30)
    assert finished.status_code == 200 and finished.json() == {"opening_id": started["opening_id"],
                                                               "status": "opened"}
    assert requests.get(finish_url, timeout=30).json()["status"] == "opened"  # a replayed finish: same answer
    view = client.request("GET", f"/api/v1/packs/openings/{started['opening_id']}")
    assert view["status"] == "opened" and view["rail"] == "open_payments"
    vault = client.request("GET", "/api/v1/me/vault?limit=50")
    assert {i["vault_item_id"] for i in view["items"]} <= {i["vault_item_id"] for i in vault["items"]}
    accounts = requests.get(f"{_wallets(stack)}/_double/accounts", timeout=10).json()
    spent = 50_00 - next(a["balance"] for a in accounts.values() if a["wallet_address"] == address)
    assert f"{spent / 100:.2f}" == started["amount"]


def test_a_forged_finish_is_400_and_unknown_ones_404(stack):
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    started = client.request("POST", f"/api/v1/packs/{PACK}/open-payments/checkout",
                             {"wallet_address": _new_buyer(stack, 50_00)})
    approved = requests.post(started["redirect_url"], data={"decision": "approve"}, allow_redirects=False,
                             timeout=10)
    finish_url = approved.headers["Location"]
    forged = requests.get(finish_url.split("hash=")[0] + "hash=AAAA" + "A" * 40, timeout=10)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "FINISH_HASH_INVALID"
    unknown = requests.get(f"{stack.base_url}/api/v1/open-payments/finish/nope?interact_ref=x&hash=y", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "PAYMENT_FLOW_NOT_FOUND"
    try:
        client.request("POST", f"/api/v1/packs/{PACK}/open-payments/checkout", {"wallet_address": "alice"})
        raise AssertionError("a wallet address that is not a URL was accepted")
    except ApiError as refused:
        assert refused.status == 400 and refused.body["error"]["code"] == "WALLET_ADDRESS_INVALID"
