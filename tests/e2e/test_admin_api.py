"""The operators' API over HTTP on the local stack: the admin `make run` creates signs in and gets the role in
its token; buyers get 403 in the error shape; changes need an Idempotency-Key; a pack goes live and off sale;
`make demo-admin` works as written."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from packvault_tools.client import ApiError, Keypair, PackvaultClient
from tests.conftest import ROOT
from tests.e2e.conftest import assert_audit_holds


@pytest.fixture(scope="module")
def operator(stack) -> PackvaultClient:
    keypair = Keypair.load(json.loads(Path(stack.state_file).read_text())["admin_keypair"])
    client = PackvaultClient(stack.base_url)
    assert client.sign_in(keypair)["role"] == "admin"
    client.wallet = keypair.public_key
    return client


def pack(pack_id: str) -> dict:
    return {"pack_id": pack_id, "name": "E2E drop", "status": "INACTIVE", "prices": {"SOL": "0.05"},
            "supply": {"total": 4},
            "tiers": [{"tier_id": "t", "name": "Only", "probability": "1",
                       "items": [{"item_id": "i", "name": "Item", "nft_id": "n", "rarity": "common", "fmv": "1",
                                  "weight": 1}]}]}


def refusal(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.body["error"]["code"]


def test_a_buyer_or_a_stranger_is_refused_in_the_error_shape(stack):
    buyer = PackvaultClient(stack.base_url)
    session = buyer.sign_in(Keypair.generate())
    assert "role" not in session
    assert refusal(lambda: buyer.request("GET", "/api/v1/admin/packs")) == (403, "FORBIDDEN")
    assert refusal(lambda: buyer.request("POST", "/api/v1/admin/packs", pack("x"), {"idempotency-key": "k"})) == (
        403, "FORBIDDEN")
    anonymous = requests.get(f"{stack.base_url}/api/v1/admin/events?entity=pack:x", timeout=10)
    assert anonymous.status_code == 401  # API Gateway's own answer when the Authorization header is missing


def test_an_operator_creates_activates_patches_and_deactivates_a_pack(stack, operator):
    pack_id = f"e2e-{uuid.uuid4().hex[:8]}"
    assert refusal(lambda: operator.request("POST", "/api/v1/admin/packs", pack(pack_id))) == (
        400, "IDEMPOTENCY_KEY_REQUIRED")
    created = operator.request("POST", "/api/v1/admin/packs", pack(pack_id), {"idempotency-key": f"c-{pack_id}"})
    assert created["action"] == "created" and created["pack"]["status"] == "INACTIVE"
    public = lambda: [p["pack_id"] for p in requests.get(f"{stack.base_url}/api/v1/packs", timeout=10).json()["packs"]]  # noqa: E731
    assert pack_id not in public()
    operator.request("POST", f"/api/v1/admin/packs/{pack_id}/activate", headers={"idempotency-key": f"a-{pack_id}"})
    assert pack_id in public()
    patched = operator.request("PATCH", f"/api/v1/admin/packs/{pack_id}", {"name": "Renamed", "supply": None},
                               {"idempotency-key": f"p-{pack_id}"})
    assert patched["pack"]["name"] == "Renamed" and patched["pack"]["supply"] is None  # null removes: unlimited
    assert refusal(lambda: operator.request("PATCH", f"/api/v1/admin/packs/{pack_id}", {"prices": {"SOL": "-1"}},
                                            {"idempotency-key": f"bad-{pack_id}"})) == (400, "CATALOG_INVALID")
    operator.request("POST", f"/api/v1/admin/packs/{pack_id}/deactivate", headers={"idempotency-key": f"d-{pack_id}"})
    assert pack_id not in public()
    listed = {p["pack_id"]: p["status"] for p in operator.request("GET", "/api/v1/admin/packs")["packs"]}
    assert listed[pack_id] == "INACTIVE"
    trail = operator.request("GET", f"/api/v1/admin/events?entity=pack:{pack_id}")["events"]
    assert [e["payload"]["status"] for e in trail] == ["INACTIVE", "ACTIVE", "ACTIVE", "INACTIVE"]
    assert {e["actor"] for e in trail} == {operator.wallet}
    assert len({e["request_id"] for e in trail}) == 4


def test_operator_reads_answer_in_the_documented_shapes(operator):
    assert refusal(lambda: operator.request("GET", "/api/v1/admin/openings?status=PAID")) == (400, "INVALID_STATUS")
    assert refusal(lambda: operator.request("GET", "/api/v1/admin/events?entity=nope")) == (400, "INVALID_ENTITY")
    assert refusal(lambda: operator.request("GET", "/api/v1/admin/packs/nope-nope")) == (404, "PACK_NOT_FOUND")
    assert isinstance(operator.request("GET", "/api/v1/admin/refunds")["refunds"], list)
    page = operator.request("GET", "/api/v1/admin/openings?limit=2")
    assert set(page) == {"openings", "cursor"}


def test_make_demo_admin_works_against_the_stack(demo_stack):
    stack = demo_stack
    env = {"PYTHONPATH": str(ROOT), "PACKVAULT_STATE": stack.state_file, "PATH": "/usr/bin:/bin"}
    demo = subprocess.run([sys.executable, "-m", "local.demo_admin"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert '"in_public_catalog": true' in demo.stdout and '"in_public_catalog": false' in demo.stdout
    assert '"retry_gave_the_same_answer": true' in demo.stdout
    assert_audit_holds(stack)
