"""What a per-identity rate-limit check costs each request it guards: DynamoDB round trips, the capacity
DynamoDB Local reports (ReturnConsumedCapacity) and time, in-process through the same code the Lambdas run.
On AWS the check is one UpdateItem of a ~100-byte row: 1 WCU.

    .venv/bin/python bench/ratelimit.py [--count 200]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from bench.common import fresh_settings, measure  # noqa: E402
from bench.dynamo_meter import DynamoMeter  # noqa: E402
from local import dynamodb  # noqa: E402
from packvault.edge import ratelimit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    with dynamodb.DynamoDBLocal() as database:
        settings = fresh_settings(database)
        meter = DynamoMeter()
        print(f"per request (mean of {count}; each from another client IP, as on a public route):")
        measure("sign-in rate-limit check", count, meter,
                lambda n: ratelimit.enforce(settings, "sign-in", f"198.51.100.{n % 250}#{n}"))


if __name__ == "__main__":
    main()
