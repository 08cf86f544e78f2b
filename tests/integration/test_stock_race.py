"""Two openings race for the last unit of an item: one gets it; the other finds the pack's stock chain moved when its
open transaction runs and draws the same round again at the new head (the unit gone), which its proof names
(FAIRNESS.md 13.10); both proofs verify and the chain counts the unit once."""

from __future__ import annotations

import threading

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, parse_catalog
from packvault.chain.rpc import SolanaRpc
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.fairness import stock_chain
from packvault.fairness.proof import check_proof
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair

LAST_UNIT = {"schema_version": 1, "packs": [{
    "pack_id": "last-unit", "name": "Last Unit", "status": "ACTIVE", "prices": {"SOL": "0.01"}, "cards_per_pack": 1,
    "tiers": [{"tier_id": "only", "name": "Only", "probability": "1", "items": [
        # The grail is all but certain to be drawn first; a single unit exists.
        {"item_id": "grail", "name": "Grail", "nft_id": "nft-grail", "rarity": "chase", "fmv": "1000",
         "weight": 1000000000, "stock": 1},
        {"item_id": "pebble", "name": "Pebble", "nft_id": "nft-pebble", "rarity": "common", "fmv": "0.01",
         "weight": 1},
    ]}],
}]}


def test_the_loser_of_a_stock_race_draws_the_same_round_at_the_head_the_winner_left(
        local_table, solana_node, monkeypatch):
    load_catalog(parse_catalog(LAST_UNIT))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key,
                                  "SOLANA_RPC_URLS": solana_node.url})
    rpc, wallet = SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)
    buyers = []
    for _ in range(2):
        keypair = Keypair.generate()
        wallet.airdrop(keypair.public_key, 10**9)
        quote = purchase.purchase(settings, keypair.public_key, "last-unit", {}, None)[1]
        signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                               reference=quote["reference"])
        buyers.append((keypair.public_key, quote, signature))

    # Both confirms read the stock chain's head (1 grail left) before either writes: a real race, made certain.
    both_read = threading.Barrier(2)
    real_head = store.stock_head  # the fresh read of the finite stock
    first_read = threading.local()

    def head_then_wait(pack_id):
        head = real_head(pack_id)
        if not getattr(first_read, "done", False):
            first_read.done = True
            both_read.wait(timeout=10)
        return head

    monkeypatch.setattr(store, "stock_head", head_then_wait)
    results = [None, None]

    def run(index):
        address, quote, signature = buyers[index]
        results[index] = confirm.confirm_payment(settings, rpc, address, quote["opening_id"],
                                                 {"tx_signature": signature}).body

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    drawn = sorted((r["items"][0]["item_id"], r["fairness"]["round"]) for r in results)
    assert drawn == [("grail", 0), ("pebble", 0)]
    assert store.get_pack_item("last-unit", "grail").stock_available == 0
    winner, loser = sorted(results, key=lambda r: r["items"][0]["item_id"] != "grail")
    links = store.stock_chain("last-unit")
    assert stock_chain.verify("last-unit", links) == []
    assert [(link["kind"], link.get("opening_id"), link["left"]) for link in links] == [
        ("load", None, {"grail": 1}), ("opening", winner["opening_id"], {"grail": 0})]
    assert winner["fairness"]["stock_link"]["seq"] == 1 and winner["fairness"]["stock"] == {"grail": 1}
    assert loser["fairness"]["stock_link"] == {"seq": 2, "hash": links[1]["hash"]}  # drew at the winner's link
    assert loser["fairness"]["stock"] == {"grail": 0} and loser["fairness"]["abandoned_rounds"] == []
    for body in results:
        proof = dict(body["fairness"], odds_table=store.odds_table("last-unit", body["fairness"]["odds_version"]))
        assert check_proof(proof).match
