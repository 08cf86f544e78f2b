"""Catalog loading against DynamoDB Local: idempotent, never resets what is sold, versions odds."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from packvault import store
from packvault.catalog.loader import CatalogError, load_catalog, parse_catalog, read_catalog_file
from tests.conftest import DEMO_CATALOG


def demo():
    return json.loads(DEMO_CATALOG.read_text())


def table_snapshot() -> list[dict]:
    rows = list(store.Row.scan())
    return sorted((row.pk, row.sk) for row in rows)


def sell(pack_id: str, units: int) -> None:
    """Stands in for purchases: moves units from available to sold, as the purchase path will."""
    store.get_pack(pack_id).update(actions=[store.PackRecord.supply_available.add(-units),
                                            store.PackRecord.supply_sold.add(units)])


def test_loading_twice_changes_nothing(local_table):
    first = load_catalog(read_catalog_file(DEMO_CATALOG))
    assert {r.action for r in first} == {"created"}
    before = table_snapshot()
    second = load_catalog(read_catalog_file(DEMO_CATALOG))
    assert {r.action for r in second} == {"unchanged"}
    assert table_snapshot() == before
    assert len(store.events_of(store.pack_pk("genesis-drop"))) == 1


def test_reload_with_more_supply_keeps_sold_units_sold(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    sell("genesis-drop", 3)
    doc = demo()
    doc["packs"][1]["supply"]["total"] = 25
    (result,) = [r for r in load_catalog(parse_catalog(doc)) if r.pack_id == "genesis-drop"]
    assert result.action == "updated"
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_total, pack.supply_available, pack.supply_sold) == (25, 22, 3)
    assert pack.supply_available + pack.supply_reserved + pack.supply_sold == pack.supply_total


def test_supply_cannot_shrink_below_what_is_already_sold(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    sell("genesis-drop", 18)
    doc = demo()
    doc["packs"][1]["supply"]["total"] = 10
    with pytest.raises(CatalogError, match="genesis-drop"):
        load_catalog(parse_catalog(doc))
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_total, pack.supply_available, pack.supply_sold) == (20, 2, 18)


def test_item_stock_moves_by_delta_and_cannot_go_below_drawn_units(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    row = store.get_pack_item("vault-chase", "psa10-titan")
    row.update(actions=[store.PackItemRecord.stock_available.add(-2)])  # both units drawn
    doc = demo()
    doc["packs"][2]["tiers"][1]["items"][0]["stock"] = 3
    load_catalog(parse_catalog(doc))
    row = store.get_pack_item("vault-chase", "psa10-titan")
    assert (row.stock_total, row.stock_available) == (3, 1)
    doc["packs"][2]["tiers"][1]["items"][0]["stock"] = 1
    with pytest.raises(CatalogError, match="psa10-titan"):
        load_catalog(parse_catalog(doc))


def test_changing_weights_makes_a_new_odds_version_and_keeps_the_old_one(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    v1 = store.get_pack("starter-unlimited")
    doc = demo()
    doc["packs"][0]["tiers"][0]["items"][0]["weight"] = 41
    load_catalog(parse_catalog(doc))
    v2 = store.get_pack("starter-unlimited")
    assert (v1.odds_version, v2.odds_version) == (1, 2)
    assert v1.odds_hash != v2.odds_hash
    assert store.odds_table("starter-unlimited", 1)["items"][0] == {"item_id": "emberling", "tier_id": "common",
                                                                   "weight": 40}
    assert store.odds_table("starter-unlimited", 2)["items"][0]["weight"] == 41


def test_fmv_change_updates_the_item_without_a_new_odds_version(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    doc = demo()
    doc["packs"][0]["tiers"][0]["items"][0]["fmv"] = "0.45"
    load_catalog(parse_catalog(doc))
    assert store.get_pack("starter-unlimited").odds_version == 1
    assert store.get_pack_item("starter-unlimited", "emberling").fmv == "0.45"


def test_item_removed_from_the_file_is_retired_not_deleted(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    doc = demo()
    doc["packs"][0]["tiers"][0]["items"].pop(2)  # mossback
    load_catalog(parse_catalog(doc))
    assert store.get_pack_item("starter-unlimited", "mossback").retired is True


def test_concurrent_loads_of_one_file_converge_to_one_pack_and_one_event(local_table):
    packs = read_catalog_file(DEMO_CATALOG)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: load_catalog(packs), range(8)))
    for pack_id in ("genesis-drop", "vault-chase"):
        actions = [r.action for run in results for r in run if r.pack_id == pack_id]
        assert actions.count("created") == 1
        assert actions.count("unchanged") == 7
        assert len(store.events_of(store.pack_pk(pack_id))) == 1
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_total, pack.supply_available) == (20, 20)
