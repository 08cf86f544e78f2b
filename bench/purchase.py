"""Purchase cost and throughput.

1. Per purchase, in-process through the same service code the Lambda runs: DynamoDB round trips and the
   capacity DynamoDB Local reports (ReturnConsumedCapacity), for an unlimited pack, a limited pack, and
   with an Idempotency-Key.
2. Purchases per second over HTTP against the local stack with 1, 4 and 16 concurrent clients.

    .venv/bin/python bench/purchase.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

import requests  # noqa: E402

from bench.common import fresh_settings  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from local import dynamodb  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.edge import purchasing as purchase  # noqa: E402
from packvault_tools.client import Keypair, PackvaultClient  # noqa: E402

ITEM = {"item_id": "bench-card", "name": "Bench Card", "nft_id": "nft-bench", "rarity": "common", "fmv": "1",
        "weight": 1}
CATALOG = {"schema_version": 1, "packs": [
    {"pack_id": "bench-unlimited", "name": "Bench Unlimited", "status": "ACTIVE", "prices": {"SOL": "0.01"},
     "cards_per_pack": 1, "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": [ITEM]}]},
    {"pack_id": "bench-limited", "name": "Bench Limited", "status": "ACTIVE", "prices": {"SOL": "0.01"},
     "cards_per_pack": 1, "supply": {"total": 10000000},
     "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": [ITEM]}]},
]}


def per_purchase_costs(database: dynamodb.DynamoDBLocal) -> None:
    settings = fresh_settings(database, MAX_OPEN_QUOTES="100")
    load_catalog(parse_catalog(CATALOG))
    meter = DynamoMeter()
    count = 50
    print("per purchase (mean of 50, DynamoDB Local's reported capacity):")
    for label, pack_id, keyed in [("unlimited pack", "bench-unlimited", False),
                                  ("limited pack", "bench-limited", False),
                                  ("limited pack + Idempotency-Key", "bench-limited", True)]:
        wallets = [Keypair.generate().public_key for _ in range(count)]  # a buyer's first quote, as is typical
        meter.reset()
        for n, wallet in enumerate(wallets):
            purchase.purchase(settings, wallet, pack_id, {}, f"key-{n}" if keyed else None)
        print(f"  {label:<34} {meter.per(count)}")


def throughput(database: dynamodb.DynamoDBLocal, seconds: float) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as catalog_file:
        json.dump(CATALOG, catalog_file)
    port = dynamodb.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAX_OPEN_QUOTES": "100", "POWERTOOLS_LOG_LEVEL": "WARNING",
           "RATE_LIMITS": "false"}  # many wallets sign in from 127.0.0.1
    stack = subprocess.Popen([sys.executable, "-m", "local", "--port", str(port), "--dynamodb-endpoint",
                              database.endpoint, "--table-name", f"bench-http-{uuid.uuid4().hex[:6]}",
                              "--catalog", catalog_file.name, "--containers", "16"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        print(f"purchases per second over HTTP on the local stack ({seconds:g} s each):")
        for pack_id in ("bench-unlimited", "bench-limited"):
            for clients in (1, 4, 16):
                _run_clients(base, pack_id, clients, 2.0)  # warm-up: cold starts of the stack's containers
                done = _run_clients(base, pack_id, clients, seconds)
                print(f"  {pack_id:<16} {clients:>2} clients: {done / seconds:8.1f} purchases/s")
    finally:
        stack.terminate()
        stack.wait(timeout=15)
        os.unlink(catalog_file.name)


def _wait(base: str) -> None:
    for _ in range(300):
        try:
            if requests.get(f"{base}/api/v1/packs", timeout=2).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting on a slow machine
            time.sleep(0.2)
    raise RuntimeError("local stack did not start")


def _run_clients(base: str, pack_id: str, clients: int, seconds: float) -> int:
    sessions = []
    for _ in range(clients):
        client = PackvaultClient(base)
        client.sign_in(Keypair.generate())
        sessions.append(client)
    counts = [0] * clients
    deadline = time.monotonic() + seconds

    def work(index: int) -> None:
        client = sessions[index]
        while time.monotonic() < deadline:
            if counts[index] and counts[index] % 90 == 0:  # stay under the open-quote limit
                client.sign_in(Keypair.generate())
            client.request("POST", f"/api/v1/packs/{pack_id}/purchase", {})
            counts[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with dynamodb.DynamoDBLocal() as database:
        per_purchase_costs(database)
        throughput(database, args.seconds)


if __name__ == "__main__":
    main()
