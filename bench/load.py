"""`make load`: a bounded mixed load run against the local stack, then the invariant audit over the whole table.

Starts its own local stack (its own DynamoDB Local, LiteSVM node and Stripe double, free loopback ports), then
for --seconds (default 60; it stops by itself) runs --users virtual buyers, each: sign in, browse the packs, buy
(mostly the limited `genesis-drop`, some unlimited), and then either pay on the local Solana node and confirm
(retrying a pending answer), or abandon the quote. Afterwards the sweep runs as if every quote had expired, and
the audit (packvault_tools.audit) reads every row. Prints requests, errors and p50/p99 latency per route, and
the verdict: oversold, double-opened and lost payments (each must be 0).

    .venv/bin/python bench/load.py [--seconds 60] [--users 16] [--shards 8]

--shards N spreads `genesis-drop`'s supply over N shard rows (a hot drop; docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

import requests  # noqa: E402

from bench.purchase import _wait  # noqa: E402
from local import dynamodb  # noqa: E402
from local.wallet import RpcWallet, solders_keypair  # noqa: E402
from packvault import store  # noqa: E402
from packvault.chain.rpc import SolanaRpc  # noqa: E402
from packvault.core.settings import Settings  # noqa: E402
from packvault.edge import sweeping as expiry  # noqa: E402
from packvault_tools.audit import audit  # noqa: E402
from packvault_tools.client import ApiError, Keypair, PackvaultClient  # noqa: E402


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.causes: list[tuple[str, str, str | None]] = []  # (route, what the client saw, the request id)
        self.lock = threading.Lock()

    def _failed(self, route: str, seen: str, request_id: str | None) -> None:
        with self.lock:
            self.errors[route] += 1
            self.causes.append((route, seen, request_id))

    def timed(self, route: str, call):
        started = time.perf_counter()
        try:
            return call()
        except ApiError as refused:
            if refused.status >= 500:
                error = (refused.body or {}).get("error", {}) if isinstance(refused.body, dict) else {}
                self._failed(route, f"HTTP {refused.status} {error.get('code') or refused.body}",
                             error.get("request_id"))
            raise
        except requests.RequestException as failure:  # no answer at all: a client timeout, a reset connection
            self._failed(route, f"{type(failure).__name__}: {str(failure)[:160]}", None)
            raise
        finally:
            with self.lock:
                self.latencies[route].append((time.perf_counter() - started) * 1000)


def buyer_loop(base: str, solana: str, deadline: float, stats: Stats, paid: list, rng: random.Random) -> None:
    keypair = Keypair.generate()
    client = PackvaultClient(base)
    wallet = RpcWallet(solana)
    try:
        stats.timed("POST sign-in (nonce + verify)", lambda: client.sign_in(keypair))
        wallet.airdrop(keypair.public_key, 50 * 10**9)
    except (ApiError, requests.RequestException):
        return
    while time.monotonic() < deadline:
        pack = "genesis-drop" if rng.random() < 0.7 else "starter-unlimited"
        try:
            stats.timed("GET /packs", lambda: client.request("GET", "/api/v1/packs"))
            quote = stats.timed("POST /packs/{id}/purchase", lambda pack=pack: client.request(
                "POST", f"/api/v1/packs/{pack}/purchase", {"currency": "SOL"},
                headers={"idempotency-key": str(uuid.uuid4())}))
        except ApiError:
            continue  # sold out, or too many unpaid quotes: browse again
        except requests.RequestException:
            continue
        if rng.random() < 0.25:
            continue  # abandoned: the quote will expire
        signature = _pay(wallet, keypair, quote)
        if signature is None:
            continue  # the local node refused the transfer (e.g. a blockhash race): the quote is abandoned
        paid.append((quote["opening_id"], signature))
        path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
        for _ in range(5):
            try:
                answer = stats.timed("POST /openings/{id}/confirm-payment", lambda path=path, signature=signature:
                                     client.request("POST", path, {"tx_signature": signature, "chain": "sol"}))
            except (ApiError, requests.RequestException):
                break
            if answer.get("status") != "pending":
                break
            time.sleep(0.5)


def _pay(wallet: RpcWallet, keypair: Keypair, quote: dict) -> str | None:
    for _ in range(3):
        try:
            return wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                              reference=quote["reference"])
        except RuntimeError:
            time.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--shards", type=int, default=1, help="genesis-drop's supply shards (1..64)")
    args = parser.parse_args()
    with dynamodb.DynamoDBLocal() as database:
        port, solana_port, stripe_port = dynamodb.free_port(), dynamodb.free_port(), dynamodb.free_port()
        table = f"load-{uuid.uuid4().hex[:8]}"
        state = Path(tempfile.mkdtemp(prefix="packvault-load-")) / "state.json"
        stack_log = state.parent / "stack.log"  # the stack's own lines, read for the cause of any 5xx
        log_file = stack_log.open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PACKVAULT_STATE": str(state),
               "QUOTE_TTL_SECONDS": "60", "MAX_OPEN_QUOTES": "10", "POWERTOOLS_LOG_LEVEL": "ERROR",
               "RATE_LIMITS": "false"}  # every simulated user signs in from 127.0.0.1
        for name in ("SOLANA_RPC_URLS", "STRIPE_SECRET_KEY", "TABLE_NAME"):
            env.pop(name, None)
        stack = subprocess.Popen([sys.executable, "-m", "local", "--port", str(port), "--dynamodb-endpoint",
                                  database.endpoint, "--table-name", table, "--solana-port", str(solana_port),
                                  "--stripe-port", str(stripe_port), "--containers", "8",
                                  "--catalog", str(catalog_file(state.parent, args.shards))],
                                 cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        base, solana = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{solana_port}"
        try:
            _wait(base)
            stats, paid = Stats(), []
            deadline = time.monotonic() + args.seconds
            threads = [threading.Thread(target=buyer_loop, args=(base, solana, deadline, stats, paid,
                                                                 random.Random(n))) for n in range(args.users)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 120)
            elapsed = time.monotonic() - started
            settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": table, "DYNAMODB_ENDPOINT": database.endpoint,
                                          "SOLANA_RPC_URLS": solana, "EXPIRY_GRACE_SECONDS": "0"})
            store.bind(settings)
            report = expiry.sweep(settings, SolanaRpc([solana]), now=datetime.now(UTC) + timedelta(minutes=2))
        finally:
            stack.terminate()
            stack.wait(timeout=30)
        log_file.close()
        report_causes(stats, stack_log)
        report_run(stats, paid, elapsed, report)


def catalog_file(directory: Path, shards: int) -> Path:
    """The demo catalog, with genesis-drop's supply over `shards` shard rows."""
    document = json.loads((ROOT / "catalog" / "demo.json").read_text())
    for pack in document["packs"]:
        if pack["pack_id"] == "genesis-drop" and shards > 1:
            pack["supply"]["shards"] = shards
    path = directory / "catalog.json"
    path.write_text(json.dumps(document))
    return path


def report_causes(stats: Stats, stack_log: Path) -> None:
    """Every server error: what the client saw and, by its request id, what the stack logged about it."""
    if not stats.causes:
        return
    lines = stack_log.read_text(errors="replace").splitlines()
    print(f"server errors, with their causes (stack log: {stack_log}):")
    for route, seen, request_id in stats.causes:
        print(f"  {route}: {seen}")
        logged = [n for n, line in enumerate(lines) if request_id and request_id in line]
        for n in logged[:1]:
            print("    " + "\n    ".join(lines[n:n + 12]))
    failures = [n for n, line in enumerate(lines) if "unhandled error" in line or (
        "failed" in line and ("function" in line or "authorizer" in line))]
    for n in failures[:5]:
        print("  stack: " + "\n    ".join(lines[n:n + 15]))


def report_run(stats: Stats, paid: list, elapsed: float, sweep_report: expiry.SweepReport) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print(f"{total} requests in {elapsed:.0f} s ({total / elapsed:.1f}/s), server errors: {errors} "
          f"({100 * errors / max(total, 1):.2f}%)")
    print(f"  {'route':<40} {'requests':>8} {'5xx':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for route, samples in sorted(stats.latencies.items()):
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  {route:<40} {len(samples):>8} {stats.errors[route]:>5} {statistics.median(samples):>8.1f} "
              f"{p99:>8.1f}")
    print(f"sweep afterwards: {json.dumps(sweep_report.as_dict())}")
    lost = [opening_id for opening_id, _ in paid
            if store.get_opening(opening_id).status not in {"OPENED", "REFUND_DUE"}]
    try:
        checked, problem = audit(), None
    except AssertionError as failure:
        checked, problem = {}, str(failure)
    oversold = "oversold" in (problem or "") or "reserved/sold" in (problem or "")
    double = "vault items" in (problem or "")
    print(f"audit: oversold {int(oversold)}, double-opened {int(double)}, lost payments {len(lost)} "
          f"({len(paid)} payments made); {json.dumps(checked)}{' PROBLEM: ' + problem if problem else ''}")
    if problem or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
