"""Expiry sweep cost and speed: openings expired per second and DynamoDB capacity per expired opening, with
the payment lookup off (RPC unavailable) and on (LiteSVM-backed RPC: getSignaturesForAddress per quote).

    .venv/bin/python bench/expire.py [--count 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from bench.purchase import CATALOG  # noqa: E402
from local import dynamodb  # noqa: E402
from local.solana_rpc import LocalSolanaServer  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.chain.rpc import SolanaRpc  # noqa: E402
from packvault.edge import purchasing as purchase  # noqa: E402
from packvault.edge import sweeping as expiry  # noqa: E402
from packvault_tools.client import Keypair  # noqa: E402


def run(database: dynamodb.DynamoDBLocal, count: int, rpc: SolanaRpc | None, label: str) -> None:
    settings = fresh_settings(database, MAX_OPEN_QUOTES="100")
    load_catalog(parse_catalog(CATALOG))
    wallets = [Keypair.generate().public_key for _ in range(max(16, count // 10))]  # >= threads
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
