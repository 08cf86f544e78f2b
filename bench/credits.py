"""Credit openings and instant buyback: DynamoDB round trips and the capacity DynamoDB Local reports
(ReturnConsumedCapacity), and time, per operation, in-process through the same code the Lambdas run.
DynamoDB Local under-reports transactional writes; by AWS's rule (2 WCU per item written in a transaction,
per KB) an opening of a 5-card limited pack writes 14 items (28 WCU), a sale 7 items (14 WCU).

    .venv/bin/python bench/credits.py [--count 30]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings, measure  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from local import dynamodb  # noqa: E402
from packvault import store  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.rails.credits import balance as credits  # noqa: E402
from packvault.rails.credits import open as balance_open  # noqa: E402
from packvault_tools.client import Keypair  # noqa: E402

ITEM = {"item_id": "bench-card", "name": "Bench Card", "nft_id": "nft-bench", "rarity": "common", "fmv": "1",
        "weight": 1}
CATALOG = {"schema_version": 1, "packs": [
    {"pack_id": "bench-credits", "name": "Bench Credits", "status": "ACTIVE", "prices": {"CREDIT": "100"},
     "cards_per_pack": 5, "supply": {"total": 1000000},
     "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": [ITEM]}]},
]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    count = parser.parse_args().count
    with dynamodb.DynamoDBLocal() as database:
        settings = fresh_settings(database)
        load_catalog(parse_catalog(CATALOG))
        wallets = [Keypair.generate().public_key for _ in range(count)]
        for n, wallet in enumerate(wallets):
            store.grant_credits(wallet, 1000, f"grant:bench-{n}", "bench", "bench balance")
            balance_open.seeds_view(wallet)  # the wallet's seed pair exists, as after its first visit
        meter = DynamoMeter()
        print(f"per operation (mean of {count}; DynamoDB Local's reported capacity; a limited 5-card pack):")
        opened = measure("open a pack from the balance", count, meter, lambda n: balance_open.open_with_credits(
            settings, wallets[n], "bench-credits", {}, None)[1])
        measure("open from the balance + Idempotency-Key", count, meter, lambda n: balance_open.open_with_credits(
            settings, wallets[n], "bench-credits", {}, f"key-{n}"))
        sales = measure("sell one item back", count, meter, lambda n: credits.sell_back(
            wallets[n], opened[n]["opening_id"], opened[n]["items"][0]["vault_item_id"]))
        assert not any(sale["already_sold"] for sale in sales)
        measure("the buyback offer", count, meter, lambda n: credits.buyback_offer(
            wallets[n], opened[n]["opening_id"], opened[n]["items"][1]["vault_item_id"]))


if __name__ == "__main__":
    main()
