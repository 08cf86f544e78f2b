"""Bulk opening and pull statistics, measured: round trips, write units and the open transaction's actions for a
purchase and its open at quantity 1, 5 and 10 (a 5-card pack paid in SOL, confirmed through the production RPC
path on LiteSVM, DynamoDB Local), and what GET /api/v1/packs/{pack_id}/stats costs per request (uncached and
from a container's cache).

Write units are computed from what each call writes (2 WRU per transactional item per KB, rounding up; DynamoDB
Local under-reports transactions), as bench/cost.py does.

    .venv/bin/python bench/bulk.py [--count 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings  # noqa: E402
from bench.cost import ITEMS, UnitMeter  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from local import dynamodb  # noqa: E402
from local.solana_rpc import LocalSolanaServer  # noqa: E402
from local.wallet import RpcWallet, solders_keypair  # noqa: E402
from packvault import store  # noqa: E402
from packvault.catalog import stats as pack_statistics  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.chain.rpc import SolanaRpc  # noqa: E402
from packvault.edge import purchasing as purchase  # noqa: E402
from packvault.fairness import records  # noqa: E402
from packvault.rails.solana import confirm  # noqa: E402
from packvault_tools.client import Keypair  # noqa: E402

CATALOG = {"schema_version": 1, "packs": [
    {"pack_id": "bulk-pack", "name": "Bulk Pack", "status": "ACTIVE", "prices": {"SOL": "0.05"},
     "cards_per_pack": 5, "supply": {"total": 1000000},
     "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": ITEMS}]},
]}


class ActionCounter:
    """The largest TransactWriteItems (in actions) since the last reset."""

    def __init__(self) -> None:
        self.largest = 0
        store.connection().client.meta.events.register("before-parameter-build.dynamodb", self._params)

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            self.largest = max(self.largest, len(params.get("TransactItems", [])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5)
    count = parser.parse_args().count
    with dynamodb.DynamoDBLocal() as database:
        node = LocalSolanaServer(0).start()
        settings = fresh_settings(database, SOLANA_RPC_URLS=node.url, MAX_OPEN_QUOTES="100")
        load_catalog(parse_catalog(CATALOG))
        chain, rpc = RpcWallet(node.url), SolanaRpc([node.url])
        meter, units, actions = DynamoMeter(), UnitMeter(), ActionCounter()
        print(f"a 5-card pack paid in SOL, mean of {count} (round trips; WRU computed from the items written)")
        for quantity in (1, 5, 10):
            figures = {"purchase": [0.0, 0.0], "open": [0.0, 0.0]}
            largest = 0
            for _ in range(count):
                keypair = Keypair.generate()
                chain.airdrop(keypair.public_key, 10**9)
                meter.reset()
                units.wru = 0.0
                quote = purchase.purchase(settings, keypair.public_key, "bulk-pack",
                                          {"quantity": quantity} if quantity > 1 else {}, None)[1]
                figures["purchase"][0] += sum(meter.calls.values())
                figures["purchase"][1] += units.wru
                signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"],
                                      int(quote["amount_base_units"]), reference=quote["reference"])
                meter.reset()
                units.wru = 0.0
                actions.largest = 0
                answer = confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"],
                                                 {"tx_signature": signature})
                assert answer.status_code == 200, answer.body
                figures["open"][0] += sum(meter.calls.values())
                figures["open"][1] += units.wru
                largest = max(largest, actions.largest)
            print(f"  quantity {quantity:>2}: purchase {figures['purchase'][0] / count:.1f} round trips, "
                  f"{figures['purchase'][1] / count:.0f} WRU; open {figures['open'][0] / count:.1f} round trips, "
                  f"{figures['open'][1] / count:.0f} WRU, {largest} actions in its transaction "
                  f"(DynamoDB allows 100)")
        records.seal_due(datetime.now(UTC) + timedelta(hours=2))
        meter.reset()
        pack_statistics.CACHE_SECONDS = 0
        started = time.perf_counter()
        for _ in range(count):
            pack_statistics.pack_stats("bulk-pack")
        elapsed = (time.perf_counter() - started) * 1000 / count
        print(f"GET /api/v1/packs/bulk-pack/stats, uncached: {meter.per(count)}; {elapsed:.1f} ms")
        pack_statistics.CACHE_SECONDS = 60
        pack_statistics.pack_stats("bulk-pack")
        meter.reset()
        started = time.perf_counter()
        for _ in range(count):
            pack_statistics.pack_stats("bulk-pack")
        elapsed = (time.perf_counter() - started) * 1000 / count
        print(f"  from the container's cache (60 s): {sum(meter.calls.values()) / count:.1f} round trips; "
              f"{elapsed:.2f} ms")
        node.shutdown()


if __name__ == "__main__":
    main()
