import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packvault.catalog.loader import CatalogError, parse_catalog, read_catalog_file
from tests.conftest import DEMO_CATALOG


def demo():
    return json.loads(DEMO_CATALOG.read_text())


def rejected(document) -> list[str]:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(document)
    return raised.value.problems


def test_demo_catalog_has_the_three_kinds_of_pack():
    packs = {p.pack_id: p for p in read_catalog_file(DEMO_CATALOG)}
    assert packs["starter-unlimited"].supply_total is None
    assert packs["genesis-drop"].supply_total == 20
    assert any(item.stock is not None for item in packs["vault-chase"].items)
    assert packs["booster-classic"].cards_per_pack == 5  # 4 commons + 1 rare-or-better


def test_probabilities_that_do_not_sum_to_one_are_rejected_naming_the_field():
    doc = demo()
    doc["packs"][0]["tiers"][0]["probability"] = "0.7499"
    (problem,) = rejected(doc)
    assert problem.startswith("packs[starter-unlimited].tiers[*].probability")
    assert "0.9999" in problem


def test_negative_weight_names_the_field():
    doc = demo()
    doc["packs"][1]["tiers"][0]["items"][1]["weight"] = -1
    assert any(p.startswith("packs[genesis-drop].tiers[common].items[genesis-shard].weight:") for p in rejected(doc))


def test_unknown_currency_is_rejected():
    doc = demo()
    doc["packs"][0]["prices"] = {"DOGE": "1"}
    assert any("packs[starter-unlimited].prices.DOGE" in p and "unknown currency" in p for p in rejected(doc))


@pytest.mark.parametrize("price", ["0.0000000001", "0", "1e-3"])
def test_prices_must_be_positive_and_fit_the_currency(price):
    doc = demo()
    doc["packs"][0]["prices"] = {"SOL": price}
    assert any("packs[starter-unlimited].prices" in p for p in rejected(doc))


def test_json_numbers_are_not_money():
    doc = demo()
    doc["packs"][0]["prices"]["SOL"] = 0.05
    assert any("packs[starter-unlimited].prices.SOL" in p for p in rejected(doc))


def test_duplicate_item_ids_in_a_pack_are_rejected():
    doc = demo()
    items = doc["packs"][0]["tiers"][0]["items"]
    items.append(copy.deepcopy(items[0]))
    assert any("item_id 'emberling' appears more than once" in p for p in rejected(doc))


def test_reachable_tier_without_a_weighted_item_is_rejected():
    doc = demo()
    for item in doc["packs"][0]["tiers"][2]["items"]:
        item["weight"] = 0
    assert any("tier 'legendary' has a non-zero probability" in p for p in rejected(doc))


def test_slots_must_name_known_tiers_and_sum_to_one():
    doc = demo()
    doc["packs"][3]["slots"][1]["tiers"] = {"rare": "0.8", "secret": "0.1"}
    problems = rejected(doc)
    assert any("slots[1].tiers: unknown tier secret" in p for p in problems)
    assert any("slots[1].tiers: probabilities sum to 0.9" in p for p in problems)


def test_cards_per_pack_is_capped_so_the_open_transaction_fits():
    doc = demo()
    doc["packs"][3]["slots"][0]["count"] = 40
    assert any("DynamoDB transaction" in p for p in rejected(doc))


def test_odds_hash_ignores_presentation_but_definition_hash_does_not():
    base = parse_catalog(demo())[0]
    doc = demo()
    doc["packs"][0]["tiers"][0]["items"][0]["fmv"] = "9.99"
    changed = parse_catalog(doc)[0]
    assert changed.odds_hash() == base.odds_hash()
    assert changed.definition_hash() != base.definition_hash()
    doc["packs"][0]["tiers"][0]["items"][0]["weight"] = 41
    assert parse_catalog(doc)[0].odds_hash() != base.odds_hash()


def _exact_splits():
    cuts = st.lists(st.integers(min_value=0, max_value=1_000_000), max_size=5).map(sorted)
    return cuts.map(lambda c: [b - a for a, b in zip([0, *c], [*c, 1_000_000], strict=True)])


@given(st.one_of(_exact_splits(), st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=6)))
def test_any_split_of_probability_is_accepted_exactly_when_it_sums_to_one(ppms):
    doc = {"schema_version": 1, "packs": [{
        "pack_id": "p", "name": "P", "status": "ACTIVE", "prices": {"SOL": "1"},
        "tiers": [{"tier_id": f"t{n}", "name": "T", "probability": f"{ppm // 1_000_000}.{ppm % 1_000_000:06d}",
                   "items": [{"item_id": f"i{n}", "name": "I", "nft_id": "n", "rarity": "r", "fmv": "1",
                              "weight": 1}]}
                  for n, ppm in enumerate(ppms)],
    }]}
    if sum(ppms) == 1_000_000:
        assert parse_catalog(doc)[0].slots[0][1] == tuple((f"t{n}", ppm) for n, ppm in enumerate(ppms))
    else:
        with pytest.raises(CatalogError, match="not exactly 1"):
            parse_catalog(doc)


def test_pack_whose_items_can_run_out_must_limit_supply_to_what_stock_fills():
    doc = demo()
    doc["packs"][2]["supply"] = None  # vault-chase: only finite-stock items
    assert any("packs[vault-chase].supply" in p and "at most 63" in p for p in rejected(doc))
    doc["packs"][2]["supply"] = {"total": 64}
    assert any("at most 63" in p for p in rejected(doc))
    doc["packs"][2]["supply"] = {"total": 63}
    assert parse_catalog(doc)[2].supply_total == 63


def test_an_unlimited_item_in_every_slot_lifts_the_supply_rule():
    doc = demo()
    doc["packs"][2]["supply"] = None
    doc["packs"][2]["tiers"][0]["items"][0]["stock"] = None
    assert parse_catalog(doc)[2].supply_total is None


def test_every_problem_at_once_in_words_located_by_ids():
    doc = demo()
    doc["packs"][1]["prices"]["SOL"] = "-0.25"  # a schema problem in genesis-drop
    doc["packs"][0]["tiers"][0]["probability"] = "0.7500001"  # a schema problem in starter-unlimited
    doc["packs"][2]["tiers"][0]["probability"] = "0.5"  # a rule across fields in vault-chase
    problems = rejected(doc)
    assert ("packs[genesis-drop].prices.SOL: '-0.25' must be a plain non-negative decimal such as \"0.05\" "
            "(no sign, no exponent)") in problems
    assert any(p.startswith("packs[starter-unlimited].tiers[common].probability: '0.7500001' must be a "
                            "probability between 0 and 1 with at most 6 decimal places") for p in problems)
    assert any(p.startswith("packs[vault-chase].tiers[*].probability: probabilities sum to") for p in problems)
    assert not any("^" in p or "does not match" in p for p in problems)  # no regular expressions


def test_supply_shards_are_parsed_bounded_and_part_of_the_definition():
    doc = demo()
    plain = parse_catalog(doc)[1]  # genesis-drop
    doc["packs"][1]["supply"] = {"total": 20, "shards": 1}
    assert parse_catalog(doc)[1].definition_hash() == plain.definition_hash()  # 1 shard: the pack as before
    doc["packs"][1]["supply"] = {"total": 20, "shards": 8}
    sharded = parse_catalog(doc)[1]
    assert sharded.supply_shards == 8 and sharded.definition_hash() != plain.definition_hash()
    for shards in (0, 65, "8"):
        doc["packs"][1]["supply"] = {"total": 20, "shards": shards}
        assert any("shards" in problem for problem in rejected(doc))


@given(units=st.integers(min_value=0, max_value=10**9), shards=st.integers(min_value=1, max_value=64))
def test_spread_keeps_every_unit_and_is_even(units, shards):
    from packvault.store.supply import spread

    parts = spread(units, shards)
    assert len(parts) == shards and sum(parts) == units and max(parts) - min(parts) <= 1
