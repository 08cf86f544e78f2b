"""Purchase over HTTP on the local stack."""

from __future__ import annotations

import requests

from packvault_tools.client import Keypair, PackvaultClient


def signed_in(api) -> PackvaultClient:
    client = PackvaultClient(api)
    client.sign_in(Keypair.generate())
    return client


def test_a_signed_in_buyer_gets_a_quote_and_sees_it_among_their_openings(api):
    client = signed_in(api)
    response = requests.post(f"{api}/api/v1/packs/genesis-drop/purchase", json={},
                             headers={"authorization": f"Bearer {client.token}", "idempotency-key": "e2e-1"},
                             timeout=10)
    assert response.status_code == 201
    quote = response.json()
    assert quote["amount_sol"] == "0.25" and quote["status"] == "quoted"
    assert quote["solana_pay_url"].startswith(f"solana:{quote['receiver_wallet']}?amount=0.25&reference=")
    again = requests.post(f"{api}/api/v1/packs/genesis-drop/purchase", json={},
                          headers={"authorization": f"Bearer {client.token}", "idempotency-key": "e2e-1"},
                          timeout=10)
    assert (again.status_code, again.json()) == (201, quote)
    openings = client.request("GET", "/api/v1/me/openings")["openings"]
    assert [o["opening_id"] for o in openings] == [quote["opening_id"]]
    kept = {"commitment", "quote_signature", "quote_key"}  # the signed commitment is the buyer's to keep
    assert client.request("GET", f"/api/v1/packs/openings/{quote['opening_id']}")["quote"] == {
        k: v for k, v in quote.items() if k not in kept}
    assert quote["quote_signature"] and quote["quote_hash"] and quote["commitment"]["opening_id"] == quote["opening_id"]
    assert client.request("GET", "/api/v1/packs/genesis-drop")["supply"]["reserved"] >= 1


def test_purchase_needs_a_signed_in_buyer(api):
    response = requests.post(f"{api}/api/v1/packs/genesis-drop/purchase", json={},
                             headers={"authorization": "Bearer nope"}, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "TOKEN_INVALID")


def test_purchase_errors_use_the_error_shape(api):
    client = signed_in(api)
    response = requests.post(f"{api}/api/v1/packs/retired-pack/purchase", json={"currency": "SOL"},
                             headers={"authorization": f"Bearer {client.token}"}, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "PACK_INACTIVE")
    response = requests.post(f"{api}/api/v1/packs/genesis-drop/purchase", data="[1,2]",
                             headers={"authorization": f"Bearer {client.token}", "content-type": "application/json"},
                             timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_JSON")
