"""POST /graphql on the local stack, as seed 001's frontend uses it: the whole purchase over a really signed
transfer with delivery through the local SQS and vendor; unauthenticated calls get seed 001's
AUTHENTICATION_ERROR; a refused delivery ends in refund_due; limits refuse abusive queries without a 5xx."""

from __future__ import annotations

import time

import pytest
import requests

from local.wallet import RpcWallet, solders_keypair
from packvault_tools.client import ApiError, GraphqlClient, Keypair

PURCHASE = ("mutation($item: ID!, $sig: String!, $account: String!) { purchaseGameCredit(productItemId: $item, "
            "transactionSignature: $sig, gameAccountId: $account, serverId: \"2051\") { order { id orderNumber "
            "status amount currency } success message errors } }")


def signed_in(stack) -> tuple[GraphqlClient, Keypair]:
    client, keypair = GraphqlClient(stack.base_url), Keypair.generate()
    client.sign_in(keypair)
    RpcWallet(stack.solana_url).airdrop(keypair.public_key, 10**9)
    return client, keypair


def buy(stack, client: GraphqlClient, keypair: Keypair, account: str) -> dict:
    platform = client.run("{ paymentWallet }")["paymentWallet"]
    signature = RpcWallet(stack.solana_url).pay(solders_keypair(keypair), platform, 10**7)  # mlbb-86: 0.01 SOL
    return client.run(PURCHASE, item="mlbb-86", sig=signature, account=account)["purchaseGameCredit"]


def settled(client: GraphqlClient, order_id: str) -> dict:
    for _ in range(60):
        order = client.run("query($id: ID!) { order(id: $id) { status orderNumber } }", id=order_id)["order"]
        if order["status"] in {"succeeded", "refund_due"}:
            return order
        time.sleep(0.25)
    raise AssertionError(f"order {order_id} still {order['status']}")


def test_purchase_over_graphql_is_delivered_in_the_background(stack, stack_store):
    from packvault import store

    client, keypair = signed_in(stack)
    answer = buy(stack, client, keypair, "12345678")
    assert answer["success"] and answer["errors"] == [] and answer["order"]["status"] == "paid"
    assert answer["message"] == f"Game credit purchase successful! Order {answer['order']['orderNumber']} created."
    assert settled(client, answer["order"]["id"])["status"] == "succeeded"
    events = store.events_of(store.order_pk(answer["order"]["id"]))
    assert events[0].actor == keypair.public_key and events[0].request_id  # who, and which request
    assert {e.actor for e in events[1:]} == {"system:fulfilment"}


def test_a_delivery_the_vendor_refuses_ends_in_refund_due(stack):
    client, keypair = signed_in(stack)
    answer = buy(stack, client, keypair, "reject-12345")
    assert settled(client, answer["order"]["id"])["status"] == "refund_due"


def test_without_a_token_seed_001s_authentication_error(stack):
    response = requests.post(f"{stack.base_url}/graphql", timeout=10, json={"query": "{ myOrders { id } }"})
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["message"] == "You must be logged in to see your orders"
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    mutation = PURCHASE.replace("$item", "\"mlbb-86\"").replace("$sig", "\"x\"").replace("$account", "\"1\"")
    mutation = "mutation " + mutation.split(") ", 1)[1]
    (error,) = requests.post(f"{stack.base_url}/graphql", timeout=10, json={"query": mutation}).json()["errors"]
    assert error["message"] == "You must be logged in to purchase game credits"


def test_a_bad_signature_never_signs_in(stack):
    client = GraphqlClient(stack.base_url)
    keypair, other = Keypair.generate(), Keypair.generate()
    message = client.run("mutation($w: String!) { signInMessage(walletAddress: $w) { message } }",
                         w=keypair.public_key)["signInMessage"]["message"]
    answer = client.run("mutation($w: String!, $m: String!, $s: String!) { authenticateWallet(walletAddress: $w, "
                        "message: $m, signature: $s) { user { id } token errors } }", w=keypair.public_key,
                        m=message, s=other.sign(message.encode()))["authenticateWallet"]
    assert answer == {"user": None, "token": None, "errors": [
        "The signature was not made by this wallet over this message."]}


@pytest.mark.parametrize("query", [
    "{ " + " ".join(f"a{n}: topupProducts {{ name }}" for n in range(300)) + " }",  # over the cost limit
    "{ topupProducts { items { prices { currency } } } } fragment f on Query { ...f }",  # a fragment cycle
    "{ nope }",
    "not graphql at all",
    "{ " + " ".join(f"s{n}: __schema {{ types {{ name }} }}" for n in range(40)) + " }",  # introspection counts
    "{ " + " ".join(f"t{n}: __type(name: \"Query\") {{ name }}" for n in range(60)) + " }",
])
def test_abusive_or_broken_queries_are_refused_without_a_server_error(stack, query):
    response = requests.post(f"{stack.base_url}/graphql", timeout=10, json={"query": query})
    assert response.status_code == 400 and response.json()["errors"]


def test_one_introspection_of_the_schema_is_answered(stack):
    response = requests.post(f"{stack.base_url}/graphql", timeout=10,
                             json={"query": "{ __schema { queryType { name } types { name kind } } }"})
    assert response.status_code == 200
    assert response.json()["data"]["__schema"]["queryType"] == {"name": "Query"}


def test_the_api_answers_graphql_errors_without_internals(stack):
    client, _ = signed_in(stack)
    with pytest.raises(ApiError) as failure:
        client.run("query($id: ID!) { order(id: $id) { id } nope }", id="x")
    assert "Traceback" not in str(failure.value.body)


def test_quote_first_over_rest_then_the_order_over_graphql(stack):
    from packvault_tools.client import PackvaultClient

    keypair = Keypair.generate()
    rest, graphql = PackvaultClient(stack.base_url), GraphqlClient(stack.base_url)
    rest.sign_in(keypair)
    graphql.sign_in(keypair)
    chain = RpcWallet(stack.solana_url)
    chain.airdrop(keypair.public_key, 10**9)
    games = requests.get(f"{stack.base_url}/api/v1/game-credits", timeout=10).json()["games"]
    assert {"mobile-legends", "genshin"} <= {g["game_id"] for g in games}
    quote = rest.request("POST", "/api/v1/game-credits/genshin-300/purchase",
                         {"currency": "SOL", "game_account_id": "8000123456", "server_id": "europe"})
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    opened = rest.request("POST", f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                          {"tx_signature": signature})
    assert opened["product"] == "game_credit" and opened["order_number"].startswith("ORD-")
    assert settled(graphql, quote["opening_id"])["status"] == "succeeded"
