"""Sharded supply for a hot drop: how many purchases per second one limited pack takes against its shard count N.

No AWS here, so this is a model, with the one figure it needs from our own rows measured on DynamoDB Local:

1. Measured: the write units a purchase's transaction spends on the row every buyer of the pack contends for:
   the pack row (shard 0, large: layout, prices) and a shard row (small). Transactions cost twice a plain write.
2. Simulated (discrete events, seeded): buyers arrive at a steady rate; each purchase is a transaction on one
   random shard and, once paid, a second transaction (the open) on the same shard. A shard is one partition key,
   and one partition takes at most 1,000 WCU per second (a token bucket with 100 ms of burst); a transaction on an
   item another transaction is committing is cancelled (TransactionConflict: the time a commit holds its items is
   `--hold-ms`, assumed, not published by AWS). A refused purchase backs off and picks a shard again, exactly as
   packvault.reservation does (6 attempts, 0..10*2^k ms), then answers BUSY_RETRY.

    .venv/bin/python bench/shards.py [--seconds 3] [--hold-ms 0 5] [--skip-measure]

What it leaves out: adaptive capacity moving hot keys apart (it cannot beat the per-key limit), the wallet's and
the opening's own rows (each buyer's own: never contended), the sold-out snapshot (only when a shard is empty).
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

PARTITION_WCU = 1000.0  # per partition, per second (DynamoDB's documented per-partition write limit)
BURST_SECONDS = 0.1
ATTEMPTS = 6  # packvault.sales.reservation.ATTEMPTS
SHARD_COUNTS = (1, 2, 4, 8, 16, 32, 64)
OFFERED = (250, 500, 1000, 2000, 4000, 8000, 16000)


@dataclass(frozen=True)
class Costs:
    pack_row_wcu: float  # a transactional update of the pack row (shard 0)
    shard_row_wcu: float  # ... of a shard row (1..N-1)


def measure_costs() -> Costs:
    """WCU of one transactional update of the demo drop's pack row and of one of its shard rows, as DynamoDB
    Local reports them (ReturnConsumedCapacity)."""
    import json

    from pynamodb.transactions import TransactWrite

    from bench.common import fresh_settings
    from bench.dynamo_meter import DynamoMeter
    from local import dynamodb
    from packvault import store
    from packvault.catalog.loader import load_catalog, parse_catalog
    from packvault.store import supply

    document = json.loads((ROOT / "catalog" / "demo.json").read_text())
    (pack,) = [p for p in document["packs"] if p["pack_id"] == "genesis-drop"]
    pack["supply"] = {"total": 1000, "shards": 2}
    with dynamodb.DynamoDBLocal() as database:
        fresh_settings(database)
        load_catalog(parse_catalog({"schema_version": 1, "packs": [pack]}))
        meter = DynamoMeter()
        units = []
        for shard in (0, 1):
            meter.reset()
            with TransactWrite(connection=store.connection()) as transaction:
                supply.reserve_unit(transaction, "genesis-drop", shard, None)
            units.append(meter.write_units)
    return Costs(*units)


@dataclass
class Shard:
    tokens: float
    refilled_at: float = 0.0
    busy_until: float = 0.0

    def take(self, now: float, cost: float, hold: float) -> str | None:
        """None if the transaction commits; else why it was cancelled."""
        self.tokens = min(PARTITION_WCU * BURST_SECONDS, self.tokens + (now - self.refilled_at) * PARTITION_WCU)
        self.refilled_at = now
        if now < self.busy_until:
            return "conflict"
        if self.tokens < cost:
            return "throttled"
        self.tokens -= cost
        self.busy_until = now + hold
        return None


@dataclass
class Outcome:
    purchases_per_second: float
    opens_per_second: float
    busy_share: float


def simulate(shards: int, offered: float, costs: Costs, hold_ms: float, seconds: float, seed: int = 7) -> Outcome:
    rng = random.Random(seed)
    rows = [Shard(tokens=PARTITION_WCU * BURST_SECONDS) for _ in range(shards)]
    cost = [costs.pack_row_wcu] + [costs.shard_row_wcu] * (shards - 1)
    hold, round_trip, pay_after = hold_ms / 1000, 0.01, 0.5
    events: list[tuple[float, int, str, int, int]] = []  # (time, seq, kind, attempt, shard)
    seq = 0
    t = 0.0
    while t < seconds:
        t += rng.expovariate(offered)
        events.append((t, seq, "purchase", 0, -1))
        seq += 1
    heapq.heapify(events)
    warm = min(1.0, seconds / 3)
    bought = opened = busy = arrived = 0
    while events:
        now, _, kind, attempt, shard = heapq.heappop(events)
        if now > seconds:
            break
        if kind == "purchase" and attempt == 0 and now >= warm:
            arrived += 1
        target = rng.randrange(shards) if kind == "purchase" else shard
        if rows[target].take(now, cost[target], hold) is None:
            if now >= warm:
                bought += kind == "purchase"
                opened += kind == "open"
            if kind == "purchase":  # the buyer pays; the open transaction lands on the same shard
                heapq.heappush(events, (now + pay_after, seq, "open", 0, target))
                seq += 1
            continue
        if kind == "purchase" and attempt + 1 >= ATTEMPTS:
            busy += now >= warm
            continue
        backoff = rng.uniform(0, 0.01 * 2 ** min(attempt, 5))  # an open is retried by the buyer's confirm poll
        heapq.heappush(events, (now + round_trip + backoff, seq, kind, attempt + 1, target))
        seq += 1
    window = seconds - warm
    return Outcome(bought / window, opened / window, busy / max(arrived, 1))


def ceiling(shards: int, costs: Costs, hold_ms: float) -> float:
    """Sales per second (a purchase and its open, both on one shard) if traffic were perfectly even."""
    def per_row(wcu: float) -> float:
        by_capacity = PARTITION_WCU / (2 * wcu)
        return by_capacity if hold_ms <= 0 else min(by_capacity, 1000 / (2 * hold_ms))
    return per_row(costs.pack_row_wcu) + (shards - 1) * per_row(costs.shard_row_wcu)


def print_table(costs: Costs, hold_ms: float, seconds: float) -> None:
    print(f"\nhold {hold_ms:g} ms: purchases/s / opens/s that succeed (BUSY_RETRY share), by offered purchases/s")
    print(f"  {'N':>3} {'ceiling':>8} " + " ".join(f"{o:>15}" for o in OFFERED))
    for shards in SHARD_COUNTS:
        cells = []
        for offered in OFFERED:
            outcome = simulate(shards, offered, costs, hold_ms, seconds)
            cells.append(f"{outcome.purchases_per_second:.0f}/{outcome.opens_per_second:.0f} "
                         f"({outcome.busy_share:.0%})")
        print(f"  {shards:>3} {ceiling(shards, costs, hold_ms):>8.0f} " + " ".join(f"{c:>15}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="simulated seconds per cell")
    parser.add_argument("--hold-ms", type=float, nargs="+", default=[0.0, 5.0],
                        help="how long a committing transaction holds its items (assumed; 0: capacity only)")
    parser.add_argument("--skip-measure", action="store_true", help="assume 4 WCU (pack row) and 2 WCU (shard)")
    args = parser.parse_args()
    costs = Costs(4.0, 2.0) if args.skip_measure else measure_costs()
    print(f"write units per transactional update: pack row (shard 0) {costs.pack_row_wcu:g} WCU, shard row "
          f"{costs.shard_row_wcu:g} WCU{' (assumed)' if args.skip_measure else ' (DynamoDB Local)'}")
    print(f"model: {PARTITION_WCU:g} WCU/s per partition ({BURST_SECONDS * 1000:g} ms burst), a purchase and its open "
          f"on one shard, {ATTEMPTS} attempts with backoff; {args.seconds:g} simulated s per cell, the first third "
          "not counted; ceiling = sales/s (a purchase and its open) with perfectly even traffic; purchases above it "
          "leave opens queueing")
    for hold_ms in args.hold_ms:
        print_table(costs, hold_ms, args.seconds)
    print(f"\n(one row per partition key; N is capped at 64 so that a supply change writes every shard in one "
          f"transaction; {math.ceil(PARTITION_WCU / 4)} sales/s per small shard row is the capacity bound)")


if __name__ == "__main__":
    main()
