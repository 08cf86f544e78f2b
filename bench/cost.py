"""What 1,000 pack sales cost on AWS, from measured work: a sale is a Solana purchase (quote) and its confirm
(really signed on the LiteSVM-backed RPC), run in-process through the service code on DynamoDB Local.

Measured per sale: DynamoDB write and read request units, computed from what each call writes (2 WRU per
transactional item and 1 per plain write, per KB of item, rounding up: DynamoDB Local under-reports
transactions) and from the read capacity DynamoDB Local reports; the handlers' wall time (Lambda GB-seconds at
the template's 512 MB); API requests and authorizer invocations. The prices are assumptions, printed with the
result: check them against the current AWS price list for your region.

    .venv/bin/python bench/cost.py [--count 30]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings  # noqa: E402
from local import dynamodb  # noqa: E402
from local.solana_rpc import LocalSolanaServer  # noqa: E402
from local.wallet import RpcWallet, solders_keypair  # noqa: E402
from packvault import store  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.chain.rpc import SolanaRpc  # noqa: E402
from packvault.edge import purchasing as purchase  # noqa: E402
from packvault.rails.solana import confirm  # noqa: E402
from packvault_tools.client import Keypair  # noqa: E402

PRICES = {  # US dollars, us-east-1, on-demand, as assumed here
    "dynamodb_per_million_wru": 0.625,
    "dynamodb_per_million_rru": 0.125,
    "lambda_per_gb_second": 0.0000133334,  # arm64 (Graviton), as the template deploys; x86_64 is 0.0000166667
    "lambda_per_million_requests": 0.20,
    "http_api_per_million_requests": 1.00,
}
MEMORY_GB = 0.5  # template.yaml Globals MemorySize 512
ITEMS = [{"item_id": f"card-{n}", "name": f"Card {n}", "nft_id": f"nft-{n}", "rarity": "common", "fmv": "1.25",
          "weight": 1, "metadata": {"image": f"https://example.invalid/{n}.png"}} for n in range(8)]
CATALOG = {"schema_version": 1, "packs": [
    {"pack_id": "cost-pack", "name": "Cost Pack", "status": "ACTIVE", "prices": {"SOL": "0.05"},
     "cards_per_pack": 5, "supply": {"total": 1000000},
     "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": ITEMS}]},
]}


READS = {"GetItem", "Query", "BatchGetItem"}


class UnitMeter:
    """Write units from the items each call writes; read units as DynamoDB Local reports them."""

    def __init__(self) -> None:
        self.wru = 0.0
        self.rru = 0.0
        self._lock = threading.Lock()
        events = store.connection().client.meta.events
        events.register("before-parameter-build.dynamodb", self._params)
        events.register("after-call.dynamodb", self._reads)

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in READS:
            params["ReturnConsumedCapacity"] = "TOTAL"
        units = 0.0
        if model.name == "TransactWriteItems":
            units = sum(2 * _kb(action) for entry in params.get("TransactItems", []) for action in entry.values())
        elif model.name in {"PutItem", "UpdateItem", "DeleteItem"}:
            units = _kb(params)
        with self._lock:
            self.wru += units

    def _reads(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name not in READS:
            return  # a transaction reports its write capacity here too: counted by what it writes, above
        consumed = parsed.get("ConsumedCapacity") or {}
        entries = consumed if isinstance(consumed, list) else [consumed]  # BatchGetItem answers one per table
        with self._lock:
            self.rru += sum(entry.get("CapacityUnits", 0) or 0 for entry in entries if isinstance(entry, dict))


def _kb(action: dict[str, Any]) -> int:
    """Units for one written item: its size in KB, rounded up (an update is counted by what it sets, at least
    1 KB; the item's other attributes would add to it on AWS, so this is a floor for large rows)."""
    body = action.get("Item") or action.get("ExpressionAttributeValues") or {}
    if not body and "Key" in action and "ConditionExpression" in action and "UpdateExpression" not in action:
        return 0  # a condition check writes nothing (it reads: 1 RRU per KB, counted below as a read)
    return max(1, math.ceil(len(json.dumps(body)) / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--finite-stock", action="store_true",
                        help="give one item finite stock: the quote commits it and is counted (FAIRNESS.md 13.6)")
    arguments = parser.parse_args()
    count = arguments.count
    catalog = json.loads(json.dumps(CATALOG))
    if arguments.finite_stock:
        catalog["packs"][0]["tiers"][0]["items"][0]["stock"] = 1_000_000
    with dynamodb.DynamoDBLocal() as database:
        node = LocalSolanaServer(0).start()
        settings = fresh_settings(database, SOLANA_RPC_URLS=node.url, MAX_OPEN_QUOTES="100")
        load_catalog(parse_catalog(catalog))
        wallet, rpc = RpcWallet(node.url), SolanaRpc([node.url])
        buyers = []
        for _ in range(count):
            keypair = Keypair.generate()
            wallet.airdrop(keypair.public_key, 10**9)
            buyers.append(keypair)
        meter = UnitMeter()
        handler_seconds = 0.0
        for keypair in buyers:
            started = time.perf_counter()
            quote = purchase.purchase(settings, keypair.public_key, "cost-pack", {}, None)[1]
            handler_seconds += time.perf_counter() - started
            signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"],
                                   int(quote["amount_base_units"]), reference=quote["reference"])
            started = time.perf_counter()
            outcome = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"],
                                              {"tx_signature": signature})
            handler_seconds += time.perf_counter() - started
            assert outcome.status_code == 200, outcome.body
        node.shutdown()
    per_sale = {"wru": meter.wru / count, "rru": meter.rru / count, "gb_seconds": handler_seconds / count * MEMORY_GB,
                "lambda_requests": 4, "api_requests": 2}  # purchase + confirm, each behind the authorizer
    sales = 1000
    dynamodb_cost = sales * (per_sale["wru"] * PRICES["dynamodb_per_million_wru"]
                             + per_sale["rru"] * PRICES["dynamodb_per_million_rru"]) / 1e6
    lambda_cost = sales * (per_sale["gb_seconds"] * PRICES["lambda_per_gb_second"]
                           + per_sale["lambda_requests"] * PRICES["lambda_per_million_requests"] / 1e6)
    api_cost = sales * per_sale["api_requests"] * PRICES["http_api_per_million_requests"] / 1e6
    print(f"assumed prices (USD): {json.dumps(PRICES)}")
    stock = ", one item with finite stock" if arguments.finite_stock else ""
    print(f"per sale (mean of {count}; a limited 5-card pack{stock}, paid in SOL): {per_sale['wru']:.1f} WRU, "
          f"{per_sale['rru']:.1f} RRU, {per_sale['gb_seconds'] * 1000:.1f} ms x GB of Lambda "
          "(handlers' wall time here, warm; an authorizer call is ~1 ms more), 2 API requests, 4 invocations")
    print("cost of 1,000 sales:")
    for name, value in (("DynamoDB", dynamodb_cost), ("Lambda", lambda_cost), ("HTTP API", api_cost),
                        ("total", dynamodb_cost + lambda_cost + api_cost)):
        print(f"  {name:<10} ${value:.4f}")


if __name__ == "__main__":
    main()
