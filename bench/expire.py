"""Expiry sweep cost and speed: openings expired per second and DynamoDB capacity per expired opening, with
the payment lookup off (RPC unavailable) and on (LiteSVM-backed RPC: getSignaturesForAddress per quote).

    .venv/bin/python bench/expire.py [--count 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.dynamo_meter import DynamoMeter  # noqa: E402
from bench.purchase import CATALOG  # noqa: E402
from local import dynamodb, template  # noqa: E402
from local.solana_rpc import LocalSolanaServer  # noqa: E402
from packvault import expiry, purchase, store  # noqa: E402
from packvault.catalog_loader import load_catalog, parse_catalog  # noqa: E402
from packvault.client import Keypair  # noqa: E402
from packvault.settings import Settings  # noqa: E402
from packvault.solana_rpc import SolanaRpc  # noqa: E402


def run(database: dynamodb.DynamoDBLocal, count: int, rpc: SolanaRpc | None, label: str) -> None:
    table = f"bench-{uuid.uuid4().hex[:8]}"
    (definition,) = template.table_definitions(template.load()).values()
    dynamodb.create_table(dynamodb.client(database.endpoint), table, definition)
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": table, "DYNAMODB_ENDPOINT": database.endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key, "MAX_OPEN_QUOTES": "100"})
    store.bind(settings)
    load_catalog(parse_catalog(CATALOG))
    wallets = [Keypair.generate().public_key for _ in range(max(1, count // 10))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: purchase.purchase(settings, wallets[n % len(wallets)], "bench-limited", {}, None),
                      range(count)))
    meter = DynamoMeter()
    calls_before = rpc.calls if rpc else 0
    started = time.perf_counter()
    report = expiry.sweep(settings, rpc, now=datetime.now(UTC) + timedelta(hours=1))
    elapsed = time.perf_counter() - started
    assert report.expired == count, report
    rpc_calls = (rpc.calls - calls_before) / count if rpc else 0
    print(f"  {label:<34} {count / elapsed:6.1f} expired/s; per opening: {meter.per(count)}; "
          f"{rpc_calls:.2f} RPC calls")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    print(f"expiry sweep of {args.count} due quotes of a limited pack (one run, one process):")
    with dynamodb.DynamoDBLocal() as database:
        run(database, args.count, None, "payment lookup off")
        node = LocalSolanaServer(0).start()
        run(database, args.count, SolanaRpc([node.url]), "payment lookup on (LiteSVM RPC)")
        node.shutdown()


if __name__ == "__main__":
    main()
