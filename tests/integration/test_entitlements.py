"""Entitlement packs on DynamoDB Local: bought on the Solana rail through the one open path (a LiteSVM-signed
payment, the production verifier), a holding per payment, and partner services consuming units concurrently,
exactly once per order reference, restoring once, racing a refund; service clients' secrets, rotation and
revocation; the typed PACK_* events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.accounts import service_clients
from packvault.catalog import entitlements as catalog
from packvault.catalog.loader import load_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import oauth, sweeping
from packvault.edge import purchasing as purchase
from packvault.products import entitlements
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PLATFORM = Keypair.generate()
PRODUCT = {"entitlement_id": "meal-pack-20", "name": "20-meal pack", "units_included": 20, "unit_label": "meal",
           "status": "ACTIVE", "prices": {"SOL": "0.01", "USD": "99.00"}}


@pytest.fixture
def env(local_table, solana_node):
    load_catalog_file(DEMO_CATALOG)
    catalog.put_definition(catalog.check_definition(PRODUCT))
    settings = Settings.from_env({
        "STAGE": "dev", "TABLE_NAME": local_table.table_name, "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
        "PLATFORM_WALLET": PLATFORM.public_key, "SOLANA_RPC_URLS": solana_node.url, "JWT_SIGNING_KEY": "k" * 40})
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)


def code_of(call: Any) -> str | None:
    try:
        call()
    except PackvaultError as refused:
        return str(refused.code)
    return None


def bought(env, product: str = "meal-pack-20") -> tuple[str, str]:
    """(buyer, holding id): a quote, a real payment on the local chain, confirmed."""
    settings, rpc, chain = env
    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    _, quote = purchase.purchase_entitlement(settings, keypair.public_key, product, {"currency": "SOL"}, None)
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    outcome = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"],
                                      {"tx_signature": signature})
    assert outcome.status_code == 200 and outcome.body["holding_id"] == quote["opening_id"], outcome.body
    again = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"],
                                    {"tx_signature": signature})
    assert again.body["holding_id"] == quote["opening_id"]  # confirmed twice: still one holding
    return keypair.public_key, quote["opening_id"]


def event_types(holding_id: str) -> list[str]:
    return [e.event_type for e in store.events_of(store.holding_pk(holding_id))]


def test_a_paid_entitlement_is_one_holding_with_the_seed_invariant(env):
    buyer, holding_id = bought(env)
    holding = store.get_holding(holding_id)
    assert (int(holding.units_remaining), int(holding.locked_credits_remaining), holding.status) == (20, 20, "ACTIVE")
    assert holding.account_id == buyer and holding.expires_at is None
    assert event_types(holding_id) == ["PACK_PURCHASED"]
    mine = entitlements.my_holdings(buyer, 20, None)["holdings"]
    assert [h["holding_id"] for h in mine] == [holding_id] and mine[0]["units_remaining"] == 20
    assert entitlements.my_holdings(Keypair.generate().public_key, 20, None)["holdings"] == []


def test_a_validity_period_expires_the_holding_and_the_sweep_records_it(env):
    settings, rpc, _ = env
    _, holding_id = bought(env, "meal-pack-10")  # the demo catalog's: 365 days
    entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id, {"units": 4, "order_ref": "early"})
    holding = store.get_holding(holding_id)
    assert holding.expires_at > holding.purchased_at and holding.expiry_shard.startswith("H")
    sweeping.sweep(settings, rpc)
    assert store.get_holding(holding_id).status == "ACTIVE"  # not due yet
    holding.update(actions=[store.HoldingRecord.expires_at.set("2000-01-01T00:00:00Z")])
    assert code_of(lambda: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                {"units": 1, "order_ref": "late"})) == "HOLDING_EXPIRED"
    sweeping.sweep(settings, rpc)
    sweeping.sweep(settings, rpc)  # twice: recorded once
    holding = store.get_holding(holding_id)
    assert (holding.status, int(holding.units_remaining), holding.expiry_shard) == ("EXPIRED", 6, None)
    expired = [e for e in store.events_of(holding.pk) if e.event_type == "PACK_EXPIRED"]
    assert len(expired) == 1 and expired[0].payload["units_voided"] == 6
    assert code_of(lambda: entitlements.restore("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                {"order_ref": "early"})) == "HOLDING_EXPIRED"


def test_fifty_concurrent_consumes_against_twenty_units_take_exactly_twenty(env):
    _, holding_id = bought(env)
    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(lambda n: code_of(lambda: entitlements.consume(
            "svc_aaaaaaaaaaaaaaaaaaaa", holding_id, {"units": 1, "order_ref": f"order-{n}"})), range(50)))
    assert codes.count(None) == 20 and codes.count("INSUFFICIENT_UNITS") == 30, codes
    holding = store.get_holding(holding_id)
    assert (int(holding.units_remaining), int(holding.locked_credits_remaining), holding.status) == (0, 0, "EXHAUSTED")
    events = event_types(holding_id)
    assert events.count("PACK_CONSUMED") == 20 and events.count("PACK_EXHAUSTED") == 1


def test_one_order_ref_twenty_times_at_once_consumes_once(env):
    _, holding_id = bought(env)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                               {"units": 3, "order_ref": "order-1"}), range(20)))
    assert {a[1]["units_remaining"] for a in answers} == {17} and {a[0] for a in answers} == {200}
    assert int(store.get_holding(holding_id).units_remaining) == 17
    assert event_types(holding_id).count("PACK_CONSUMED") == 1
    other = "svc_bbbbbbbbbbbbbbbbbbbb"  # another service's order_ref of the same name is its own order
    assert entitlements.consume(other, holding_id, {"units": 1, "order_ref": "order-1"})[1]["units_remaining"] == 16
    assert code_of(lambda: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                {"units": 2, "order_ref": "order-1"})) == "ORDER_REF_REUSED"


def test_restore_gives_units_back_once_and_only_to_the_service_that_took_them(env):
    _, holding_id = bought(env)
    entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id, {"units": 20, "order_ref": "all"})
    assert store.get_holding(holding_id).status == "EXHAUSTED"
    assert code_of(lambda: entitlements.restore("svc_bbbbbbbbbbbbbbbbbbbb", holding_id,
                                                {"order_ref": "all"})) == "CONSUMPTION_NOT_FOUND"
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: entitlements.restore("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                               {"order_ref": "all"}), range(2)))
    assert {a[1]["units_remaining"] for a in answers} == {20}
    holding = store.get_holding(holding_id)
    assert (int(holding.units_remaining), holding.status) == (20, "ACTIVE")
    assert event_types(holding_id).count("PACK_RESTORED") == 1


def test_consumes_racing_a_refund_stay_consistent(env):
    _, holding_id = bought(env)

    def consume(n: int) -> str | None:
        return code_of(lambda: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                    {"units": 1, "order_ref": f"race-{n}"}))

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(consume, n) for n in range(15)]
        refunded = pool.submit(store.refund_holding, holding_id, {"refund_reference": "re_test"})
        codes = [f.result() for f in futures]
    assert refunded.result() is True
    holding = store.get_holding(holding_id)
    taken = codes.count(None)
    assert holding.status == "REFUNDED" and int(holding.units_remaining) == 20 - taken
    assert set(codes) <= {None, "HOLDING_REFUNDED"}
    (refund,) = [e for e in store.events_of(store.holding_pk(holding_id)) if e.event_type == "PACK_REFUNDED"]
    assert refund.payload["units_consumed"] == taken and refund.payload["units_voided"] == 20 - taken
    assert code_of(lambda: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id,
                                                {"units": 1, "order_ref": "after"})) == "HOLDING_REFUNDED"
    assert store.refund_holding(holding_id, {}) is False  # once


def test_bad_consume_requests_are_refused_before_anything_is_written(env):
    _, holding_id = bought(env)
    for body, code in (({"units": 0, "order_ref": "a"}, "VALIDATION_FAILED"),
                       ({"units": True, "order_ref": "a"}, "VALIDATION_FAILED"),
                       ({"units": 1.5, "order_ref": "a"}, "VALIDATION_FAILED"),
                       ({"units": 1, "order_ref": ""}, "VALIDATION_FAILED"),
                       ({"units": 1, "order_ref": "x" * 129}, "VALIDATION_FAILED"),
                       ({"units": 21, "order_ref": "too-many"}, "INSUFFICIENT_UNITS")):
        assert code_of(lambda body=body: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", holding_id, body)) == code
    assert code_of(lambda: entitlements.consume("svc_aaaaaaaaaaaaaaaaaaaa", "no-such", {"units": 1,
                                                                                        "order_ref": "a"})) \
        == "HOLDING_NOT_FOUND"
    assert event_types(holding_id) == ["PACK_PURCHASED"] and int(store.get_holding(holding_id).units_remaining) == 20


def test_catalog_changes_of_an_entitlement_are_typed_events(env):
    pk = store.entitlement_pk("meal-pack-20")
    assert [e.event_type for e in store.events_of(pk)] == ["PACK_CREATED"]
    assert catalog.put_definition(catalog.check_definition(PRODUCT)) == "unchanged"
    catalog.put_definition(catalog.check_definition({**PRODUCT, "status": "INACTIVE"}))
    catalog.put_definition(catalog.check_definition({**PRODUCT, "status": "ACTIVE"}))
    catalog.put_definition(catalog.check_definition({**PRODUCT, "units_included": 25, "name": "25 meals"}))
    events = store.events_of(pk)
    assert [e.event_type for e in events] == ["PACK_CREATED", "PACK_DEACTIVATED", "PACK_ACTIVATED", "PACK_UPDATED"]
    assert sorted(events[-1].payload["changed"]) == ["name", "units_included"]
    assert events[-1].payload["changed"]["units_included"] == {"from": 20, "to": 25}
    assert code_of(lambda: catalog.check_definition({**PRODUCT, "units_included": 0})) == "CATALOG_INVALID"
    assert code_of(lambda: catalog.check_definition({**PRODUCT, "prices": {"SOL": "-1"}})) == "CATALOG_INVALID"


def test_an_inactive_product_cannot_be_bought(env):
    settings, _, _ = env
    catalog.put_definition(catalog.check_definition({**PRODUCT, "status": "INACTIVE"}))
    assert code_of(lambda: purchase.purchase_entitlement(settings, Keypair.generate().public_key, "meal-pack-20",
                                                         {"currency": "SOL"}, None)) == "PRODUCT_UNAVAILABLE"
    assert code_of(lambda: purchase.purchase_entitlement(settings, Keypair.generate().public_key, "nope",
                                                         {"currency": "SOL"}, None)) == "ENTITLEMENT_NOT_FOUND"


# --- service clients and their tokens --------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM = "application/x-www-form-urlencoded"


def test_client_credentials_give_a_short_token_and_wrong_ones_the_rfc_errors(env):
    settings, _, _ = env
    created = service_clients.create("ordering", ["entitlements:consume"])
    secret = created["client_secret"]
    status, answer, headers = oauth.token(settings, basic(created["client_id"], secret), FORM,
                                          b"grant_type=client_credentials")
    assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] == 300
    assert answer["scope"] == "entitlements:consume" and headers["Cache-Control"] == "no-store"
    from packvault.edge import auth

    claims = auth.read_token(settings, answer["access_token"])
    assert claims["kind"] == "service" and claims["sub"] == created["client_id"]
    body = f"grant_type=client_credentials&client_id={created['client_id']}&client_secret={secret}".encode()
    assert oauth.token(settings, None, FORM, body)[0] == 200
    assert oauth.token(settings, basic(created["client_id"], "wrong"), FORM,
                       b"grant_type=client_credentials")[:2] == (401, {
                           "error": "invalid_client",
                           "error_description": "Unknown client, wrong secret, or a revoked client."})
    assert oauth.token(settings, basic(created["client_id"], secret), FORM,
                       b"grant_type=password")[1]["error"] == "unsupported_grant_type"
    assert oauth.token(settings, basic(created["client_id"], secret), FORM,
                       b"grant_type=client_credentials&scope=entitlements:read")[1]["error"] == "invalid_scope"
    assert oauth.token(settings, basic(created["client_id"], secret), "application/json",
                       b'{"grant_type": "client_credentials"}')[1]["error"] == "invalid_request"
    assert store.get_service_client(created["client_id"]).secret_hashes[0] != secret  # stored hashed


def test_rotation_keeps_both_secrets_until_finished_and_revocation_is_immediate(env):
    settings, _, _ = env
    created = service_clients.create("ordering", "entitlements:consume,entitlements:read")
    old = created["client_secret"]
    new = service_clients.rotate(created["client_id"])["client_secret"]
    for secret in (old, new):
        assert oauth.token(settings, basic(created["client_id"], secret), FORM,
                           b"grant_type=client_credentials")[0] == 200
    service_clients.finish_rotation(created["client_id"])
    assert oauth.token(settings, basic(created["client_id"], old), FORM, b"grant_type=client_credentials")[0] == 401
    assert oauth.token(settings, basic(created["client_id"], new), FORM, b"grant_type=client_credentials")[0] == 200
    service_clients.require_active(created["client_id"], "entitlements:read", ["entitlements:read"])
    assert code_of(lambda: service_clients.require_active(created["client_id"], "entitlements:consume",
                                                          ["entitlements:read"])) == "SCOPE_MISSING"
    service_clients.revoke(created["client_id"])
    assert code_of(lambda: service_clients.require_active(created["client_id"], "entitlements:read",
                                                          ["entitlements:read"])) == "TOKEN_INVALID"
    assert oauth.token(settings, basic(created["client_id"], new), FORM, b"grant_type=client_credentials")[0] == 401
    kinds = [e.event_type for e in store.events_of(store.service_client_pk(created["client_id"]))]
    assert kinds == ["SERVICE_CLIENT_CREATED", "SERVICE_CLIENT_SECRET_ROTATED", "SERVICE_CLIENT_ROTATION_FINISHED",
                     "SERVICE_CLIENT_REVOKED"]
