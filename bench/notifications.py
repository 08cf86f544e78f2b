"""Notification latency on the local stack (`make run` first): from a pack opened (the API's answer) to the
signed `opening.opened` webhook arriving at a partner's receiver, through the table's stream, the notify function,
the queue and the deliver function. Prints p50/p99 over N openings paid from the credit balance.

    .venv/bin/python bench/notifications.py [--count 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local.webhook_receiver import WebhookReceiver  # noqa: E402
from packvault_tools import devstack  # noqa: E402
from packvault_tools.client import Keypair, PackvaultClient  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args()
    state = devstack.read_state()
    if state is None:
        print("bench: start the local stack first (make run)", file=sys.stderr)
        return 2
    api = state["api"]
    receiver = WebhookReceiver().register(api, state["admin_keypair"], ["opening.opened"])
    buyer = Keypair.generate()
    client = PackvaultClient(api)
    client.sign_in(buyer)
    subprocess.run([sys.executable, "-m", "packvault_tools", "credits", "grant", buyer.public_key,
                    str(args.count * 1000), "--reason", "notification bench"], check=True, capture_output=True)
    latencies = []
    for _ in range(args.count):
        opened = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"currency": "CREDIT"},
                                headers={"idempotency-key": f"bench-{uuid.uuid4()}"})
        answered = time.monotonic()
        while not any(b["data"]["opening_id"] == opened["opening_id"] for b in receiver.received()):
            if time.monotonic() - answered > 30:
                print(f"bench: no webhook for {opened['opening_id']} in 30 s", file=sys.stderr)
                return 1
            time.sleep(0.01)
        latencies.append((time.monotonic() - answered) * 1000)
    receiver.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"opening.opened webhook after the open's answer, {len(latencies)} openings: "
          f"p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms; "
          f"all {len(receiver.attempts)} deliveries verified: {all(a['verified'] for a in receiver.attempts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
