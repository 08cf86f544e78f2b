"""The stock history chain on DynamoDB Local: every catalog change to what quotes commit to (finite stock totals,
supply) is a hash-linked link written with the change; a rewritten or removed link is detected; a quote's
committed stock is the chain's state when it was made."""

from __future__ import annotations

import copy
import dataclasses

from packvault import store
from packvault.catalog import views as catalog
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.fairness import stock_chain
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PACK = "vault-chase"


def chase_definition(stock_changes: dict[str, int]):
    pack = next(p for p in read_catalog_file(DEMO_CATALOG) if p.pack_id == PACK)
    items = tuple(dataclasses.replace(item, stock=stock_changes.get(item.item_id, item.stock)) for item in pack.items)
    return dataclasses.replace(pack, items=items)


def test_each_stock_change_is_a_link_and_tampering_shows(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    first = store.stock_chain(PACK)
    assert [link["seq"] for link in first] == [1] and first[0]["prev"] == stock_chain.GENESIS
    finite = dict(first[0]["stock_totals"])
    item = next(iter(finite))
    load_catalog([chase_definition({item: finite[item] - 1})])  # an operator cuts one unit
    load_catalog([chase_definition({item: finite[item] - 1})])  # the same file again: no new link
    chain = store.stock_chain(PACK)
    assert [link["seq"] for link in chain] == [1, 2] and chain[1]["prev"] == chain[0]["hash"]
    assert chain[1]["stock_totals"][item] == finite[item] - 1
    assert stock_chain.verify(PACK, chain) == [] and store.get_pack(PACK).stock_chain_head == chain[1]["hash"]
    view = catalog.get_stock_chain(PACK)
    assert view["intact"] is True and view["head"] == chain[1]["hash"]

    rewritten = copy.deepcopy(chain)
    rewritten[0]["stock_totals"][item] = 0  # history rewritten: the cut "was always there"
    assert "link 1 was changed after it was written" in stock_chain.verify(PACK, rewritten)
    assert stock_chain.verify(PACK, chain[1:])  # the first link hidden


def test_a_quote_commits_to_the_chains_state_at_its_time(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key})
    quote = purchase.purchase(settings, Keypair.generate().public_key, PACK, {}, None)[1]
    chain = store.stock_chain(PACK)
    item = next(iter(chain[0]["stock_totals"]))
    # Stock withdrawn after the quote (once it has ended: a cut while it is open is refused, FAIRNESS.md 13.6) is on
    # the record, after it.
    assert store.expire_opening(store.get_opening(quote["opening_id"]), None, "expired")
    load_catalog([chase_definition({item: 0})])
    later = store.stock_chain(PACK)
    at_quote = stock_chain.state_at(later, quote["created_at"])
    assert at_quote["stock_totals"] == quote["stock_committed"] and at_quote["seq"] == 1
    assert later[-1]["at"] >= quote["created_at"] and later[-1]["stock_totals"][item] == 0
