"""Confirm cost and throughput.

1. Per confirm, in-process through the service code the Lambda runs, with a really signed payment on the
   LiteSVM-backed RPC: Solana RPC calls, DynamoDB round trips and the capacity DynamoDB Local reports.
2. Confirms per second over HTTP on the local stack with 1, 4 and 16 clients (openings bought and paid
   beforehand, so only confirm is timed).

    .venv/bin/python bench/confirm.py [--count 40] [--pack vault-chase --count 12 --clients 1,4,8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from bench.purchase import _wait  # noqa: E402
from local import dynamodb  # noqa: E402
from local.solana_rpc import LocalSolanaServer  # noqa: E402
from local.wallet import RpcWallet, solders_keypair  # noqa: E402
from packvault.catalog.loader import load_catalog, read_catalog_file  # noqa: E402
from packvault.chain.rpc import SolanaRpc  # noqa: E402
from packvault.edge import purchasing as purchase  # noqa: E402
from packvault.rails.solana import confirm  # noqa: E402
from packvault_tools.client import Keypair, PackvaultClient  # noqa: E402

DEMO = ROOT / "catalog" / "demo.json"


def per_confirm_costs(database: dynamodb.DynamoDBLocal, count: int) -> None:
    node = LocalSolanaServer(0).start()
    settings = fresh_settings(database, SOLANA_RPC_URLS=node.url)
    load_catalog(read_catalog_file(DEMO))
    wallet, rpc = RpcWallet(node.url), SolanaRpc([node.url])
    meter = DynamoMeter()
    print(f"per confirm (mean of {count}; DynamoDB Local's reported capacity):")
    for pack_id in ("starter-unlimited", "vault-chase"):  # unlimited; limited with finite-stock items
        paid = []
        for _ in range(count):
            keypair = Keypair.generate()
            wallet.airdrop(keypair.public_key, 5 * 10**9)
            quote = purchase.purchase(settings, keypair.public_key, pack_id, {}, None)[1]
            signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"],
                                   int(quote["amount_base_units"]), reference=quote["reference"])
            paid.append((keypair.public_key, quote["opening_id"], signature))
        meter.reset()
        rpc.calls = 0
        started = time.perf_counter()
        for address, opening_id, signature in paid:
            confirm.confirm_payment(settings, rpc, address, opening_id, {"tx_signature": signature})
        elapsed = time.perf_counter() - started
        print(f"  {pack_id:<18} {rpc.calls / count:.2f} RPC calls; {meter.per(count)}; "
              f"{elapsed / count * 1000:.0f} ms each in-process")
    node.shutdown()


def http_throughput(database: dynamodb.DynamoDBLocal, count: int, pack_id: str = "starter-unlimited",
                    client_counts: tuple[int, ...] = (1, 4, 16)) -> None:
    port, solana_port = dynamodb.free_port(), dynamodb.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAX_OPEN_QUOTES": "100", "POWERTOOLS_LOG_LEVEL": "WARNING",
           "RATE_LIMITS": "false"}  # many wallets sign in from 127.0.0.1
    env.pop("SOLANA_RPC_URLS", None)
    stack = subprocess.Popen([sys.executable, "-m", "local", "--port", str(port), "--dynamodb-endpoint",
                              database.endpoint, "--table-name", f"bench-http-{uuid.uuid4().hex[:6]}",
                              "--solana-port", str(solana_port), "--containers", "16"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        wallet = RpcWallet(f"http://127.0.0.1:{solana_port}")
        print(f"confirms per second over HTTP on the local stack ({pack_id}):")
        for clients in client_counts:
            jobs = []
            for _ in range(max(count, clients * 4)):
                keypair = Keypair.generate()
                client = PackvaultClient(base)
                client.sign_in(keypair)
                wallet.airdrop(keypair.public_key, 5 * 10**9)
                quote = client.request("POST", f"/api/v1/packs/{pack_id}/purchase", {})
                signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"],
                                       int(quote["amount_base_units"]), reference=quote["reference"])
                jobs.append((client, quote["opening_id"], signature))

            def run(job: tuple) -> None:
                client, opening_id, signature = job
                opened = client.request("POST", f"/api/v1/packs/openings/{opening_id}/confirm-payment",
                                        {"tx_signature": signature, "chain": "sol"})
                assert opened["status"] == "opened"

            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(run, jobs[:clients]))  # warm the containers
                started = time.perf_counter()
                list(pool.map(run, jobs[clients:]))
                elapsed = time.perf_counter() - started
            print(f"  {clients:>2} clients: {(len(jobs) - clients) / elapsed:7.1f} confirms/s")
    finally:
        stack.terminate()
        stack.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--pack", default="starter-unlimited",
                        help="the pack confirmed over HTTP: vault-chase has finite stock, so its openings commit one "
                             "after another on its stock chain (docs/FAIRNESS.md 13.10)")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients per run (vault-chase sells 60 "
                                                             "packs: --count 12 --clients 1,4,8)")
    args = parser.parse_args()
    with dynamodb.DynamoDBLocal() as database:
        per_confirm_costs(database, args.count)
        http_throughput(database, args.count, args.pack, tuple(int(n) for n in args.clients.split(",")))


if __name__ == "__main__":
    main()
