"""Card checkout and Stripe webhook cost, in-process through the same service code the Lambdas run, on
DynamoDB Local with the official stripe library talking to the local Stripe double.

Per operation: DynamoDB round trips and the capacity DynamoDB Local reports (ReturnConsumedCapacity), Stripe API
calls, and wall time (mean). Operations: checkout (with and without an Idempotency-Key; a limited pack), a
repeated checkout with the same key, and the webhook deliveries checkout.session.completed (opens the pack),
the same event again (duplicate), checkout.session.expired (releases the unit) and charge.refunded (revokes).

    .venv/bin/python bench/checkout.py [--count 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings  # noqa: E402
from bench.common import measure as measure_with  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from local import dynamodb, stripe_double  # noqa: E402
from packvault.catalog.loader import load_catalog, parse_catalog  # noqa: E402
from packvault.rails.card import checkout  # noqa: E402
from packvault.rails.card import settlement as card_settlement  # noqa: E402
from packvault.rails.card import stripe_api as stripe_checkout  # noqa: E402
from packvault_tools.client import Keypair  # noqa: E402

SECRET_KEY, WEBHOOK_SECRET, SHOP = "sk_test_bench", "whsec_bench", "https://shop.example"
URLS = {"success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/cancel"}
ITEM = {"item_id": "bench-card", "name": "Bench Card", "nft_id": "nft-bench", "rarity": "common", "fmv": "1",
        "weight": 1}
CATALOG = {"schema_version": 1, "packs": [
    {"pack_id": "bench-card", "name": "Bench Card Pack", "status": "ACTIVE", "prices": {"USD": "4.99"},
     "cards_per_pack": 5, "supply": {"total": 1000000},
     "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": [ITEM]}]},
]}


class StripeCalls:
    """Counts the requests the double serves (what the backend asks of Stripe)."""

    def __init__(self, double: stripe_double.StripeDouble) -> None:
        self.count = 0
        handler = double.RequestHandlerClass
        original = handler._api

        def counted(this, method, path, params):
            self.count += 1
            return original(this, method, path, params)

        handler._api = counted


def measure(label: str, count: int, meter: DynamoMeter, calls: StripeCalls, operation) -> list:
    calls.count = 0
    return measure_with(label, count, meter, operation, lambda: f"{calls.count / count:g} Stripe calls", width=44)


def deliver(settings, cards, event: dict) -> str:
    payload = json.dumps(event).encode()
    header = stripe_double.sign(payload, WEBHOOK_SECRET, int(time.time()))
    return card_settlement.handle_webhook(settings, cards, payload, header)["outcome"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    count = parser.parse_args().count
    with dynamodb.DynamoDBLocal() as database:
        double = stripe_double.StripeDouble(0, SECRET_KEY).start()
        settings = fresh_settings(database, MAX_OPEN_QUOTES="100", STRIPE_SECRET_KEY=SECRET_KEY,
                                  STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=double.url,
                                  CHECKOUT_RETURN_ORIGINS=SHOP)
        load_catalog(parse_catalog(CATALOG))
        cards = stripe_checkout.from_settings(settings)
        meter, calls = DynamoMeter(), StripeCalls(double)
        wallets = [Keypair.generate().public_key for _ in range(count)]
        print(f"per operation (mean of {count}; DynamoDB Local's reported capacity; a limited pack of 5 cards):")
        measure("checkout", count, meter, calls, lambda n: checkout.create_checkout(
            settings, cards, wallets[n], "bench-card", dict(URLS), None))
        keyed = measure("checkout + Idempotency-Key", count, meter, calls, lambda n: checkout.create_checkout(
            settings, cards, wallets[n], "bench-card", dict(URLS), f"key-{n}")[1])
        measure("checkout repeated with the same key", count, meter, calls, lambda n: checkout.create_checkout(
            settings, cards, wallets[n], "bench-card", dict(URLS), f"key-{n}"))
        for answer in keyed:
            stripe_double.pay_session(double.state, answer["checkout_session_id"])
        completed = {e["data"]["object"]["id"]: e for e in double.state.events
                     if e["type"] == "checkout.session.completed"}
        events = [completed[a["checkout_session_id"]] for a in keyed]
        measure("webhook checkout.session.completed (opens)", count, meter, calls,
                lambda n: deliver(settings, cards, events[n]))
        measure("webhook, the same event again (duplicate)", count, meter, calls,
                lambda n: deliver(settings, cards, events[n]))
        intents = [double.state.objects[a["checkout_session_id"]]["payment_intent"] for a in keyed]
        for n, intent in enumerate(intents):
            cards.refund(intent, keyed[n]["opening_id"])
        refunds = {e["data"]["object"]["payment_intent"]: e for e in double.state.events
                   if e["type"] == "charge.refunded"}
        measure("webhook charge.refunded (revokes 5 items)", count, meter, calls,
                lambda n: deliver(settings, cards, refunds[intents[n]]))
        unpaid = [checkout.create_checkout(settings, cards, Keypair.generate().public_key, "bench-card", dict(URLS),
                                           None)[1] for _ in range(count)]
        for answer in unpaid:
            stripe_double.expire_session(double.state, answer["checkout_session_id"])
        expired = {e["data"]["object"]["id"]: e for e in double.state.events if e["type"] == "checkout.session.expired"}
        measure("webhook checkout.session.expired (releases)", count, meter, calls,
                lambda n: deliver(settings, cards, expired[unpaid[n]["checkout_session_id"]]))
        double.shutdown()


if __name__ == "__main__":
    main()
