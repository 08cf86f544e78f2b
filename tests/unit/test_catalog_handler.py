"""The catalog function through its real handler, on moto (single-threaded: fine for moto)."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from local import dynamodb, template
from local.lambdas import LambdaContext, http_api_event, load_handler
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core.settings import Settings
from tests.conftest import DEMO_CATALOG

TPL = template.load()


@pytest.fixture(scope="module")
def catalog_handler():
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        (table,) = template.table_definitions(TPL).values()
        dynamodb.create_table(dynamodb.client(None), "packvault-test", table)
        monkeypatch.setenv("TABLE_NAME", "packvault-test")
        monkeypatch.delenv("DYNAMODB_ENDPOINT", raising=False)
        store.bind(Settings.from_env({"STAGE": "dev", "TABLE_NAME": "packvault-test"}))
        load_catalog(read_catalog_file(DEMO_CATALOG))
        yield load_handler(template.functions(TPL)["CatalogFunction"])


def call(handler, method: str, path: str) -> tuple[int, dict]:
    for route in template.routes(TPL):
        params = route.match(method, path)
        if params is not None:
            event = http_api_event(route, method, path, "", {}, b"", params, "127.0.0.1")
            break
    else:
        raise AssertionError(f"no route for {method} {path}")
    response = handler(event, LambdaContext("CatalogFunction", 10))
    return response["statusCode"], json.loads(response["body"])


def test_list_shows_only_active_packs_with_prices_as_decimal_strings(catalog_handler):
    status, body = call(catalog_handler, "GET", "/api/v1/packs")
    assert status == 200
    packs = {p["pack_id"]: p for p in body["packs"]}
    assert set(packs) == {"starter-unlimited", "genesis-drop", "vault-chase", "booster-classic"}
    assert packs["starter-unlimited"]["prices"] == [
        {"currency": "CREDIT", "amount": "250", "rail": "credits", "amount_base_units": "250"},
        {"currency": "SOL", "amount": "0.05", "rail": "solana", "amount_base_units": "50000000"},
        {"currency": "USD", "amount": "2.49", "rail": "stripe", "amount_base_units": "249"},
        {"currency": "USDC", "amount": "2.5", "rail": "solana", "amount_base_units": "2500000"},
    ]
    assert packs["genesis-drop"]["remaining_supply"] == 20
    assert packs["starter-unlimited"]["remaining_supply"] is None


def test_unknown_pack_is_404_with_the_error_shape(catalog_handler):
    status, body = call(catalog_handler, "GET", "/api/v1/packs/no-such-pack")
    assert status == 404
    assert body["error"]["code"] == "PACK_NOT_FOUND"
    assert "no-such-pack" in body["error"]["message"]
    assert body["error"]["request_id"]


def test_inactive_pack_is_readable_by_id_with_its_status(catalog_handler):
    status, body = call(catalog_handler, "GET", "/api/v1/packs/retired-pack")
    assert (status, body["status"]) == (200, "INACTIVE")


def test_malformed_pack_id_is_400(catalog_handler):
    status, body = call(catalog_handler, "GET", "/api/v1/packs/" + "x" * 65)
    assert (status, body["error"]["code"]) == (400, "INVALID_PACK_ID")


def test_an_unexpected_failure_is_a_500_with_the_error_shape_not_a_crash(catalog_handler, monkeypatch):
    # Last in the module: it breaks the data-access layer for this test only (monkeypatch undoes it).
    def broken(*_):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(store, "get_pack", broken)
    status, body = call(catalog_handler, "GET", "/api/v1/packs/genesis-drop")
    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "fire" not in body["error"]["message"]
