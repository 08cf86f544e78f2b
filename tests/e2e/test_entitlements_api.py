"""Entitlement packs over HTTP on the local stack: bought by card (the official stripe library, the local double's
hosted page and signed webhook), consumed by a partner service with its own OAuth client-credentials token through
the same authorizer; buyer and service tokens never stand in for each other; a revoked client is refused at once."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from packvault_tools.client import ApiError, Keypair, PackvaultClient


def refused(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.body["error"]["code"]


@pytest.fixture(scope="module")
def operator(stack) -> PackvaultClient:
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.load(json.loads(Path(stack.state_file).read_text())["admin_keypair"]))
    return client


def service(stack, operator, scopes=("entitlements:consume", "entitlements:read")) -> tuple[dict, PackvaultClient]:
    created = operator.request("POST", "/api/v1/admin/service-clients", {"name": "ordering", "scopes": list(scopes)},
                               headers={"idempotency-key": f"svc-{uuid.uuid4()}"})
    token = requests.post(f"{stack.base_url}/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(created["client_id"], created["client_secret"]), timeout=10)
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store", token.text
    return created, PackvaultClient(stack.base_url, token.json()["access_token"])


def bought_by_card(stack) -> tuple[PackvaultClient, str]:
    buyer = PackvaultClient(stack.base_url)
    buyer.sign_in(Keypair.generate())
    started = buyer.request("POST", "/api/v1/entitlements/products/meal-pack-5/checkout",
                            {"success_url": f"{stack.base_url}/done", "cancel_url": f"{stack.base_url}/no"})
    requests.post(f"{started['checkout_url']}/pay", timeout=10, allow_redirects=False)
    deadline = time.monotonic() + 20
    while buyer.request("GET", f"/api/v1/packs/openings/{started['opening_id']}")["status"] != "opened":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return buyer, started["opening_id"]


def test_a_card_bought_holding_consumed_by_a_partner_exactly_once(stack, operator):
    buyer, holding_id = bought_by_card(stack)
    (mine,) = buyer.request("GET", "/api/v1/me/entitlements")["holdings"]
    assert (mine["holding_id"], mine["units_remaining"], mine["status"]) == (holding_id, 5, "ACTIVE")
    created, ordering = service(stack, operator)
    path = f"/api/v1/entitlements/{holding_id}/consume"
    first = ordering.request("POST", path, {"units": 2, "order_ref": "kitchen-1"})
    assert ordering.request("POST", path, {"units": 2, "order_ref": "kitchen-1"}) == first
    assert refused(lambda: ordering.request("POST", path, {"units": 4, "order_ref": "kitchen-2"})) == \
        (409, "INSUFFICIENT_UNITS")
    restored = ordering.request("POST", f"/api/v1/entitlements/{holding_id}/restore", {"order_ref": "kitchen-1"})
    assert restored["units_remaining"] == 5
    events = operator.request("GET", f"/api/v1/admin/events?entity=holding:{holding_id}")["events"]
    assert [e["event_type"] for e in events] == ["PACK_PURCHASED", "PACK_CONSUMED", "PACK_RESTORED"]
    assert events[1]["actor"] == f"service:{created['client_id']}" and events[1]["request_id"]


def test_buyer_and_service_tokens_never_stand_in_for_each_other(stack, operator):
    buyer, holding_id = bought_by_card(stack)
    _, ordering = service(stack, operator)
    assert refused(lambda: buyer.request("POST", f"/api/v1/entitlements/{holding_id}/consume",
                                         {"units": 1, "order_ref": "x"})) == (403, "SERVICE_TOKEN_REQUIRED")
    assert refused(lambda: ordering.request("GET", "/api/v1/me/vault")) == (403, "BUYER_TOKEN_REQUIRED")
    assert refused(lambda: ordering.request("GET", "/api/v1/admin/packs")) == (403, "BUYER_TOKEN_REQUIRED")
    _, reader = service(stack, operator, scopes=("entitlements:read",))
    assert reader.request("GET", f"/api/v1/entitlements/{holding_id}")["units_remaining"] == 5
    assert refused(lambda: reader.request("POST", f"/api/v1/entitlements/{holding_id}/consume",
                                          {"units": 1, "order_ref": "x"})) == (403, "SCOPE_MISSING")


def test_a_revoked_client_is_refused_at_once(stack, operator):
    _, holding_id = bought_by_card(stack)
    created, ordering = service(stack, operator)
    ordering.request("GET", f"/api/v1/entitlements/{holding_id}")
    operator.request("POST", f"/api/v1/admin/service-clients/{created['client_id']}/revoke", {},
                     headers={"idempotency-key": f"revoke-{uuid.uuid4()}"})
    assert refused(lambda: ordering.request("GET", f"/api/v1/entitlements/{holding_id}")) == (401, "TOKEN_INVALID")
    again = requests.post(f"{stack.base_url}/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(created["client_id"], created["client_secret"]), timeout=10)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
