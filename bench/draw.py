"""Draws per second for a pack of 10,000 items in 5 tiers: Packvault's engine against seed 003's linear
cumulative scan (group cards by tier, sum the tier's odds, scan cumulatively; Math.random as
random.random), on the same pack, in one run.

    .venv/bin/python bench/draw.py [--items 10000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packvault.fairness.draw import Drawer, DrawInputs, OddsTable
from packvault.fairness.primitives import new_server_seed

TIERS = [("common", 600_000), ("uncommon", 250_000), ("rare", 100_000), ("epic", 40_000), ("legendary", 10_000)]


def build_pack(items: int) -> dict:
    rng = random.Random(7)
    return {
        "slots": [{"count": 1, "tiers": [[t, ppm] for t, ppm in TIERS]}],
        "tiers": [{"tier_id": t, "name": t} for t, _ in TIERS],
        "items": [{"item_id": f"item-{n}", "tier_id": TIERS[n % 5][0], "weight": rng.randint(1, 100)}
                  for n in range(items)],
    }


def seed003_draw(pack_tiers: list[dict], pack_cards: list[dict]) -> dict:
    """Seed 003's drawCardFromPack, step for step (3.1-3.3)."""
    by_tier: dict[str, list[dict]] = {}
    for card in pack_cards:
        by_tier.setdefault(card["tier_id"], []).append(card)
    total_odds = {tier: sum(c["odds"] for c in cards) for tier, cards in by_tier.items()}
    r, cumulative, selected_tier = random.random(), 0.0, pack_tiers[-1]
    for tier in pack_tiers:
        cumulative += tier["probability"]
        if r <= cumulative:
            selected_tier = tier
            break
    cards = [c for c in by_tier[selected_tier["id"]] if c["odds"] > 0]
    r, cumulative = random.random(), 0.0
    for card in cards:
        cumulative += card["odds"] / total_odds[selected_tier["id"]]
        if r <= cumulative:
            return card
    return cards[-1]


def rate(fn, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        count += 50
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    document = build_pack(args.items)
    table = OddsTable.from_document(document)
    drawer = Drawer(table, DrawInputs(new_server_seed(), "bench", "bench-opening"), {})
    slot = table.slots[0]
    pack_tiers = [{"id": t, "probability": ppm / 1_000_000} for t, ppm in TIERS]
    pack_cards = [{"tier_id": i["tier_id"], "odds": i["weight"], "card_uuid": i["item_id"]} for i in document["items"]]

    ours = rate(lambda: drawer.draw(slot), args.seconds)
    seed = rate(lambda: seed003_draw(pack_tiers, pack_cards), args.seconds)
    start = time.perf_counter()
    Drawer(OddsTable.from_document(document), DrawInputs(new_server_seed(), "b", "new-pack"), {})
    prepare_ms = (time.perf_counter() - start) * 1000
    print(f"pack: {args.items} items in {len(TIERS)} tiers")
    print(f"packvault engine (HMAC-SHA256, prefix sums + bisect): {ours:>12,.0f} draws/s")
    print(f"seed 003 linear cumulative scan (random.random):      {seed:>12,.0f} draws/s")
    print(f"ratio: {ours / seed:,.1f}x   (one-off preparation of a new odds version: {prepare_ms:.1f} ms)")


if __name__ == "__main__":
    main()
