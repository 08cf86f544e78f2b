"""Credits over HTTP on the local stack: open a pack paid on Solana, see the buyback offer, sell the item back
once, find the credits and the ledger entry; nobody else can sell it."""

from __future__ import annotations

from local.wallet import RpcWallet, solders_keypair
from packvault_tools.client import ApiError, Keypair, PackvaultClient


def _opened(stack) -> tuple[PackvaultClient, dict]:
    keypair = Keypair.generate()
    client = PackvaultClient(stack.base_url)
    client.sign_in(keypair)
    wallet = RpcWallet(stack.solana_url)
    wallet.airdrop(keypair.public_key, 10**9)
    quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"currency": "SOL"})
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
    return client, client.request("POST", path, {"tx_signature": signature, "chain": "sol"})


def test_sell_an_item_back_once_and_see_the_credits(stack):
    client, opened = _opened(stack)
    item = opened["items"][0]
    path = f"/api/v1/me/openings/{opened['opening_id']}/items/{item['vault_item_id']}/buyback"
    offer = client.request("GET", path)
    assert offer["status"] == "available" and offer["rate"] == "0.85" and offer["credits"] >= 0
    sale = client.request("POST", path)
    assert sale["credits"] == offer["credits"] and sale["already_sold"] is False
    assert client.request("POST", path)["already_sold"] is True
    ledger = client.request("GET", "/api/v1/me/credits")
    assert ledger["balance"] == sale["credits"] and ledger["credit_value_usd"] == "0.01"
    assert [e["posting_id"] for e in ledger["entries"]] == [f"buyback:{item['vault_item_id']}"]
    vault = client.request("GET", "/api/v1/me/vault")
    assert next(i for i in vault["items"] if i["vault_item_id"] == item["vault_item_id"])["sold_back"] is True

    stranger = PackvaultClient(stack.base_url)
    stranger.sign_in(Keypair.generate())
    try:
        stranger.request("POST", path)
        raise AssertionError("a stranger sold someone else's item")
    except ApiError as refused:
        assert refused.status == 404 and refused.body["error"]["code"] == "VAULT_ITEM_NOT_FOUND"
