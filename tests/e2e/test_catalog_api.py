"""The catalog over HTTP on the local stack: the demo packs, exact odds, and the error shape."""

import json
from fractions import Fraction

import requests


def get(api, path):
    response = requests.get(f"{api}{path}", timeout=10)
    return response.status_code, response.json()


def test_lists_the_active_demo_packs(api):
    status, body = get(api, "/api/v1/packs")
    assert status == 200
    assert {p["pack_id"] for p in body["packs"]} == {"starter-unlimited", "genesis-drop", "vault-chase",
                                                     "booster-classic"}


def test_every_slot_discloses_odds_that_sum_to_exactly_one(api):
    _, body = get(api, "/api/v1/packs")
    for pack in body["packs"]:
        assert sum(slot["count"] for slot in pack["odds"]["slots"]) == pack["cards_per_pack"]
        for slot in pack["odds"]["slots"]:
            assert sum(Fraction(t["probability_exact"]) for t in slot["tiers"]) == 1, pack["pack_id"]
            items = [Fraction(i["probability_exact"]) for t in slot["tiers"] for i in t["items"]]
            assert sum(items) == 1, pack["pack_id"]


def test_zero_weight_items_are_not_disclosed_as_drawable(api):
    _, pack = get(api, "/api/v1/packs/starter-unlimited")
    disclosed = {i["item_id"] for slot in pack["odds"]["slots"] for t in slot["tiers"] for i in t["items"]}
    assert "retired-proto" not in disclosed and "emberling" in disclosed


def test_limited_pack_shows_its_remaining_supply(api):
    status, pack = get(api, "/api/v1/packs/genesis-drop")
    assert status == 200
    assert pack["supply"] == {"limited": True, "total": 20, "available": 20, "reserved": 0, "sold": 0}
    assert pack["remaining_supply"] == 20 and pack["sold_out"] is False
    assert pack["prices"] == [
        {"currency": "SOL", "amount": "0.25", "rail": "solana", "amount_base_units": "250000000"},
        {"currency": "USD", "amount": "11.99", "rail": "stripe", "amount_base_units": "1199"},  # cents
    ]


def test_unknown_pack_is_a_json_404(api):
    status, body = get(api, "/api/v1/packs/no-such-pack")
    assert status == 404
    assert body["error"]["code"] == "PACK_NOT_FOUND"
    assert body["error"]["message"]


def test_unknown_route_is_404(api):
    status, _ = get(api, "/api/v1/nothing-here")
    assert status == 404


def test_cors_preflight_answers_from_the_template(api):
    response = requests.options(f"{api}/api/v1/packs", timeout=10)
    assert response.status_code == 204
    assert "idempotency-key" in response.headers["access-control-allow-headers"]


def test_odds_versions_are_public_and_hash_to_what_the_pack_names(api):
    _, pack = get(api, "/api/v1/packs/booster-classic")
    status, odds = get(api, f"/api/v1/packs/booster-classic/odds/{pack['odds']['version']}")
    assert status == 200
    assert odds["odds_hash"] == pack["odds"]["hash"]
    assert odds["odds_table"]["slots"][1]["tiers"] == [["rare", 875000], ["mythic", 125000]]
    assert get(api, "/api/v1/packs/booster-classic/odds/99")[0] == 404
    assert get(api, "/api/v1/packs/booster-classic/odds/x")[1]["error"]["code"] == "ODDS_VERSION_NOT_FOUND"


def test_the_api_serves_its_published_openapi_document(api):
    from packvault_tools.openapi import DOCUMENT

    response = requests.get(f"{api}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads(DOCUMENT.read_text())
