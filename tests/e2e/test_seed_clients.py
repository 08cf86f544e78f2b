"""Clients written for the seeds' systems, replayed against Packvault with their own documents and bodies: seed
001's frontend (its documented flow, with its input-type document fixed to valid GraphQL), a schema tool's standard
introspection, and seed 004's checkout with the idempotency key in the body, twice."""

from __future__ import annotations

import time

import requests
from graphql import build_client_schema, get_introspection_query

from local.wallet import RpcWallet, solders_keypair
from packvault_tools.client import GraphqlClient, Keypair, PackvaultClient

# Seed 001 "Frontend Implementation Example", step 1, exactly as the seed sends it.
SEED_AUTHENTICATE = """
        mutation($walletAddress: String!) {
          authenticateWallet(walletAddress: $walletAddress) {
            user { id, walletAddress }
            token
            errors
          }
        }
      """
# Step 3, fixed: the seed reads `$input.productItemId`, which GraphQL has no syntax for; it passes `input` whole.
SEED_PURCHASE = """
        mutation($input: PurchaseGameCreditInput!) {
          purchaseGameCredit(input: $input) {
            order {
              id
              orderNumber
              status
              amount
            }
            success
            message
            errors
          }
        }
      """
# "Query Order Status" and "Get All My Orders", as in the seed.
SEED_ORDER = """query($id: ID!) { order(id: $id) { id orderNumber status amount currency createdAt
  cryptoTransaction { transactionSignature state confirmations } } }"""
SEED_MY_ORDERS = "query { myOrders(limit: 20) { id orderNumber status amount currency createdAt } }"


def _graphql(stack, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = requests.post(f"{stack.base_url}/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_seed_001s_frontend_flow_with_its_own_documents(stack):
    keypair = Keypair.generate()
    refused = _graphql(stack, SEED_AUTHENTICATE, {"walletAddress": keypair.public_key})["data"]["authenticateWallet"]
    assert refused["token"] is None and "signInMessage(walletAddress)" in refused["errors"][0]
    assert "authenticateWallet(walletAddress, message, signature)" in refused["errors"][0]
    client = GraphqlClient(stack.base_url)
    client.sign_in(keypair)  # the two calls that replace it
    chain = RpcWallet(stack.solana_url)
    chain.airdrop(keypair.public_key, 10**9)
    platform = _graphql(stack, "{ paymentWallet }")["data"]["paymentWallet"]
    signature = chain.pay(solders_keypair(keypair), platform, 10**7)  # step 2: a plain transfer, no currency named
    variables = {"input": {"productItemId": "mlbb-86", "transactionSignature": signature, "gameAccountId": "12345678",
                           "serverId": "2051", "inGameName": "PlayerOne"}}
    answer = _graphql(stack, SEED_PURCHASE, variables, client.token)["data"]["purchaseGameCredit"]
    assert answer["success"] and answer["errors"] == [], answer
    order = answer["order"]
    assert answer["message"] == f"Game credit purchase successful! Order {order['orderNumber']} created."
    assert (order["status"], order["amount"]) == ("paid", "0.01")
    again = _graphql(stack, SEED_PURCHASE, variables, client.token)["data"]["purchaseGameCredit"]
    assert again["success"] and again["order"]["id"] == order["id"]  # the identical request replays
    other = {"input": {**variables["input"], "gameAccountId": "87654321"}}
    reused = _graphql(stack, SEED_PURCHASE, other, client.token)["data"]["purchaseGameCredit"]
    assert (reused["success"], reused["message"]) == (False, "This transaction has already been used")
    both = _graphql(stack, "mutation($input: PurchaseGameCreditInput!) { purchaseGameCredit(input: $input, "
                    "productItemId: \"mlbb-86\") { success errors } }", variables, client.token)
    assert both["data"]["purchaseGameCredit"]["success"] is False
    found = _graphql(stack, SEED_ORDER, {"id": order["id"]}, client.token)["data"]["order"]
    assert found["orderNumber"] == order["orderNumber"] and found["currency"] == "SOL"
    assert found["cryptoTransaction"]["transactionSignature"] == signature
    assert found["cryptoTransaction"]["state"] == "finalized" and found["cryptoTransaction"]["confirmations"] is None
    mine = _graphql(stack, SEED_MY_ORDERS, token=client.token)["data"]["myOrders"]
    assert [o["id"] for o in mine] == [order["id"]]


def test_a_schema_tools_standard_introspection_and_the_sdl(stack):
    answer = requests.post(f"{stack.base_url}/graphql", json={"query": get_introspection_query()}, timeout=30)
    assert answer.status_code == 200, answer.text
    schema = build_client_schema(answer.json()["data"])  # what GraphiQL, Apollo and codegen do with it
    assert "purchaseGameCredit" in schema.mutation_type.fields
    assert "PurchaseGameCreditInput" in schema.type_map
    twice = "query { a: __schema { types { name fields { name } } } b: __schema { types { name fields { name } } } " \
            "c: __schema { types { name fields { name } } } d: __schema { types { name fields { name } } } " \
            "e: __schema { types { name fields { name } } } f: __schema { types { name fields { name } } } }"
    assert requests.post(f"{stack.base_url}/graphql", json={"query": twice}, timeout=30).status_code == 400
    sdl = requests.get(f"{stack.base_url}/graphql/schema.graphql", timeout=10)
    assert sdl.status_code == 200 and sdl.headers["content-type"].startswith("text/plain")
    assert "input PurchaseGameCreditInput" in sdl.text and "type Mutation" in sdl.text


def test_seed_004s_checkout_with_the_key_in_the_body_twice_gives_one_checkout(stack):
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    body = {"success_url": f"{stack.base_url}/done?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{stack.base_url}/cancelled", "idempotency_key": f"seed004-{time.time_ns()}"}
    first = client.request("POST", "/api/v1/packs/starter-unlimited/checkout", body)
    second = client.request("POST", "/api/v1/packs/starter-unlimited/checkout", body)
    assert first == second and first["checkout_url"]


def test_an_idempotency_key_in_the_body_and_another_in_the_header_is_a_400(stack):
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    answer = requests.post(f"{stack.base_url}/api/v1/packs/starter-unlimited/checkout", timeout=30,
                           json={"success_url": f"{stack.base_url}/done", "cancel_url": f"{stack.base_url}/no",
                                 "idempotency_key": "body-key"},
                           headers={"authorization": f"Bearer {client.token}", "idempotency-key": "header-key"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "IDEMPOTENCY_KEY_MISMATCH")
