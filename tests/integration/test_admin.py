"""The operators' domain on DynamoDB Local: roles, catalog edits through the catalog rules, counters that never
drop below what is reserved or sold, idempotent mutations, refunds marked once, and the audit trail."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.chain.rpc import SolanaRpc
from packvault.core import context
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import admin
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault_tools.client import Keypair

PLATFORM = Keypair.generate().public_key
ADMIN = Keypair.generate().public_key
SUPPORT = Keypair.generate().public_key


def drop(pack_id: str = "ops-drop", supply: int = 3) -> dict:
    return {"pack_id": pack_id, "name": "Ops drop", "status": "ACTIVE", "prices": {"SOL": "0.1", "USD": "9.99"},
            "supply": {"total": supply},
            "tiers": [{"tier_id": "common", "name": "Common", "probability": "0.9",
                       "items": [{"item_id": "c1", "name": "Copper", "nft_id": "nft-c1", "rarity": "common",
                                  "fmv": "0.5", "weight": 1}]},
                      {"tier_id": "rare", "name": "Rare", "probability": "0.1",
                       "items": [{"item_id": "r1", "name": "Ruby", "nft_id": "nft-r1", "rarity": "rare",
                                  "fmv": "20", "weight": 1}]}]}


@pytest.fixture
def settings(local_table, solana_node) -> Settings:
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PLATFORM_WALLET": PLATFORM,
                              "SOLANA_RPC_URLS": solana_node.url, "MAX_OPEN_QUOTES": "10",
                              "OPERATOR_ROLES": f"{ADMIN}=admin,{SUPPORT}=support"})


def refused(code: str, call, *args, **kwargs) -> PackvaultError:
    with pytest.raises(PackvaultError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_body()
    return caught.value


def test_roles_come_from_the_token_and_are_checked_against_the_configuration(settings):
    admin.authorize(settings, ADMIN, "admin", admin.ADMIN)
    admin.authorize(settings, ADMIN, "admin", admin.SUPPORT)
    admin.authorize(settings, SUPPORT, "support", admin.SUPPORT)
    assert refused("FORBIDDEN", admin.authorize, settings, SUPPORT, "support", admin.ADMIN).status == 403
    refused("FORBIDDEN", admin.authorize, settings, PLATFORM, None, admin.SUPPORT)  # a buyer
    refused("FORBIDDEN", admin.authorize, settings, SUPPORT, "admin", admin.ADMIN)  # a role it no longer has


def test_create_validates_like_a_catalog_file_and_refuses_an_existing_id(settings):
    broken = drop()
    broken["tiers"][1]["probability"] = "0.2"
    error = refused("CATALOG_INVALID", admin.create_pack, ADMIN, broken, "k-broken")
    assert any("sum to 1.1" in problem for problem in error.details["problems"])
    assert store.get_pack("ops-drop") is None
    status, created = admin.create_pack(ADMIN, drop(), "k-1")
    assert (status, created["action"], created["pack"]["supply"]) == (201, "created", {
        "total": 3, "available": 3, "reserved": 0, "sold": 0, "shards": 1})
    refused("PACK_EXISTS", admin.create_pack, ADMIN, drop(), "k-2")


def test_a_mutation_needs_an_idempotency_key_and_a_retry_gets_the_same_answer(settings):
    refused("IDEMPOTENCY_KEY_REQUIRED", admin.create_pack, ADMIN, drop(), None)
    first = admin.create_pack(ADMIN, drop(), "same-key")
    assert admin.create_pack(ADMIN, drop(), "same-key") == first
    refused("IDEMPOTENCY_KEY_REUSED", admin.create_pack, ADMIN, drop("other"), "same-key")
    assert len([e for e in store.events_of(store.pack_pk("ops-drop")) if e.event_type == "PACK_CREATED"]) == 1
    assert [e.event_type for e in store.events_of(store.pack_pk("ops-drop"))] == ["PACK_CREATED"]


def test_the_stored_definition_reads_back_to_the_same_hash(settings):
    admin.create_pack(ADMIN, drop(), "k")
    before = store.get_pack("ops-drop")
    status, answer = admin.patch_pack(ADMIN, "ops-drop", {}, "noop")
    assert (status, answer["action"]) == (200, "unchanged")
    assert store.get_pack("ops-drop").definition_hash == before.definition_hash


def test_an_odds_change_makes_a_new_odds_version_and_a_price_change_does_not(settings):
    admin.create_pack(ADMIN, drop(), "k")
    _, priced = admin.patch_pack(ADMIN, "ops-drop", {"prices": {"SOL": "0.2"}}, "p1")
    assert priced["pack"]["prices"] == {"SOL": "0.2", "USD": "9.99"} and priced["pack"]["odds_version"] == 1
    tiers = copy.deepcopy(drop()["tiers"])
    tiers[0]["probability"], tiers[1]["probability"] = "0.8", "0.2"
    _, changed = admin.patch_pack(ADMIN, "ops-drop", {"tiers": tiers}, "p2")
    assert changed["action"] == "updated" and changed["pack"]["odds_version"] == 2
    assert store.odds_table("ops-drop", 1) != store.odds_table("ops-drop", 2)  # the old version stays readable
    refused("VALIDATION_FAILED", admin.patch_pack, ADMIN, "ops-drop", {"pack_id": "renamed"}, "p3")
    refused("PACK_NOT_FOUND", admin.patch_pack, ADMIN, "nope", {"name": "x"}, "p4")


def test_supply_moves_by_delta_and_never_below_reserved_plus_sold(settings):
    admin.create_pack(ADMIN, drop(supply=3), "k")
    buyers = [Keypair.generate().public_key for _ in range(2)]
    for buyer in buyers:
        purchase.purchase(settings, buyer, "ops-drop", {"currency": "SOL"}, None)
    error = refused("CATALOG_CONFLICT", admin.patch_pack, ADMIN, "ops-drop", {"supply": {"total": 1}}, "s1")
    assert error.status == 409
    assert admin.get_pack("ops-drop")["pack"]["supply"] == {"total": 3, "available": 1, "reserved": 2, "sold": 0,
                                                            "shards": 1}
    _, grown = admin.patch_pack(ADMIN, "ops-drop", {"supply": {"total": 10}}, "s2")
    assert grown["pack"]["supply"] == {"total": 10, "available": 8, "reserved": 2, "sold": 0, "shards": 1}
    _, shrunk = admin.patch_pack(ADMIN, "ops-drop", {"supply": {"total": 2}}, "s3")
    assert shrunk["pack"]["supply"] == {"total": 2, "available": 0, "reserved": 2, "sold": 0, "shards": 1}


def test_concurrent_patches_from_the_same_version_apply_one_at_a_time(settings):
    admin.create_pack(ADMIN, drop(), "k")

    def rename(n: int):
        try:
            return admin.patch_pack(ADMIN, "ops-drop", {"name": f"Name {n}"}, f"race-{n}")[1]["pack"]["name"]
        except PackvaultError as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(rename, range(8)))
    winners = [o for o in outcomes if isinstance(o, str) and o.startswith("Name")]
    assert winners and all(o in {"CATALOG_CONFLICT"} or o.startswith("Name") for o in outcomes)
    loaded = [e for e in store.events_of(store.pack_pk("ops-drop")) if e.event_type.startswith("PACK_")]
    assert len(loaded) == 1 + len(set(winners))  # every applied change left exactly one event
    assert [e.event_type for e in loaded] == ["PACK_CREATED"] + ["PACK_UPDATED"] * len(set(winners))
    assert all(set(e.payload["changed"]) == {"name"} for e in loaded[1:])
    assert store.get_pack("ops-drop").name in winners


def test_deactivate_then_activate_and_each_change_names_its_actor_and_request(settings):
    admin.create_pack(ADMIN, drop(), "k")
    context.begin(ADMIN, "req-deactivate")
    assert admin.set_pack_status(ADMIN, "ops-drop", "INACTIVE", "d1")[1]["pack"]["status"] == "INACTIVE"
    refused("PACK_INACTIVE", purchase.purchase, settings, PLATFORM, "ops-drop", {"currency": "SOL"}, None)
    context.begin(ADMIN, "req-activate")
    assert admin.set_pack_status(ADMIN, "ops-drop", "ACTIVE", "a1")[1]["pack"]["status"] == "ACTIVE"
    trail = admin.events("pack:ops-drop", 50, None)["events"]
    assert [(e["event_type"], e["payload"]["status"]) for e in trail] == [
        ("PACK_CREATED", "ACTIVE"), ("PACK_DEACTIVATED", "INACTIVE"), ("PACK_ACTIVATED", "ACTIVE")]
    assert trail[1]["payload"]["changed"] == {"status": {"from": "ACTIVE", "to": "INACTIVE"}}
    assert [(e["actor"], e["request_id"]) for e in trail[1:]] == [(ADMIN, "req-deactivate"), (ADMIN, "req-activate")]


def test_the_audit_trail_pages_in_order_and_refuses_unknown_entities(settings):
    admin.create_pack(ADMIN, drop(), "k")
    for n in range(4):
        admin.patch_pack(ADMIN, "ops-drop", {"name": f"Name {n}"}, f"n{n}")
    first = admin.events("pack:ops-drop", 2, None)
    second = admin.events("pack:ops-drop", 2, first["cursor"])
    third = admin.events("pack:ops-drop", 2, second["cursor"])
    names = [e["payload"]["definition_hash"] for page in (first, second, third) for e in page["events"]]
    assert len(names) == 5 and len(set(names)) == 5 and third["cursor"] is None
    refused("INVALID_ENTITY", admin.events, "table:x", 10, None)
    refused("INVALID_ENTITY", admin.events, None, 10, None)
    refused("INVALID_CURSOR", admin.events, "pack:ops-drop", 2, "bm90LWEta2V5")


def test_openings_list_by_pack_and_status_with_paging(settings):
    admin.create_pack(ADMIN, drop(supply=10), "k")
    ids = [purchase.purchase(settings, Keypair.generate().public_key, "ops-drop", {"currency": "SOL"}, None)[1]
           ["opening_id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = admin.list_openings("ops-drop", "QUOTED", 2, cursor)
        seen += [o["opening_id"] for o in page["openings"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and seen == list(reversed(ids))  # newest first, each once
    assert admin.list_openings("ops-drop", "OPENED", 10, None)["openings"] == []
    everywhere = admin.list_openings(None, "QUOTED", 3, None)
    assert len(everywhere["openings"]) == 3 and everywhere["cursor"]
    rest = admin.list_openings(None, "QUOTED", 100, everywhere["cursor"])
    assert {o["opening_id"] for o in everywhere["openings"] + rest["openings"]} == set(ids)
    assert everywhere["openings"][0]["amount"] == "0.1" and everywhere["openings"][0]["currency"] == "SOL"
    refused("INVALID_STATUS", admin.list_openings, None, "PAID", 10, None)
    refused("INVALID_CURSOR", admin.list_openings, None, None, 10, "garbage")


def test_a_refund_is_marked_once_with_its_reference(settings, solana_node):
    admin.create_pack(ADMIN, drop(), "k")
    buyer = Keypair.generate()
    wallet = RpcWallet(solana_node.url)
    wallet.airdrop(buyer.public_key, 10**9)
    quote = purchase.purchase(settings, buyer.public_key, "ops-drop", {"currency": "SOL"}, None)[1]
    opening = store.get_opening(quote["opening_id"])
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    opening.update(actions=[store.OpeningRecord.quote_expires_at.set(past), store.OpeningRecord.expires_at.set(past)])
    signature = wallet.pay(solders_keypair(buyer), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"])
    expiry.sweep(settings, SolanaRpc([solana_node.url]), now=datetime.now(UTC) + timedelta(hours=1))
    assert [r["opening_id"] for r in admin.list_refunds()["refunds"]] == [quote["opening_id"]]

    refused("VALIDATION_FAILED", admin.mark_refunded, ADMIN, quote["opening_id"], {"refund_reference": "x"}, "r0")
    status, answer = admin.mark_refunded(ADMIN, quote["opening_id"], {"refund_reference": signature}, "r1")
    assert (status, answer["status"]) == (200, "REFUNDED")
    assert admin.mark_refunded(ADMIN, quote["opening_id"], {"refund_reference": signature}, "r1") == (status, answer)
    refused("REFUND_NOT_DUE", admin.mark_refunded, ADMIN, quote["opening_id"], {"refund_reference": signature}, "r2")
    assert admin.list_refunds()["refunds"] == []
    refunded = [e for e in store.events_of(store.opening_pk(quote["opening_id"])) if e.event_type == "REFUNDED"]
    assert len(refunded) == 1 and refunded[0].payload["actor"] == ADMIN


def test_every_demo_pack_reads_back_to_its_definition(settings):
    from packvault.catalog.loader import load_catalog, pack_document, parse_catalog, read_catalog_file
    from tests.conftest import DEMO_CATALOG

    for pack in load_catalog(read_catalog_file(DEMO_CATALOG)):
        document, stored_hash = pack_document(pack.pack_id)
        reread = parse_catalog({"schema_version": 1, "packs": [document]})[0]
        assert reread.definition_hash() == stored_hash, pack.pack_id
