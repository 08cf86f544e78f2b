"""Shared set-up for the benchmarks: a fresh table on DynamoDB Local, created from template.yaml."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from local import dynamodb, template
from packvault import store
from packvault.core.settings import Settings
from packvault_tools.client import Keypair


def fresh_settings(database: dynamodb.DynamoDBLocal, **environment: str) -> Settings:
    """A new table, and the data-access layer bound to it."""
    table = f"bench-{uuid.uuid4().hex[:8]}"
    (definition,) = template.table_definitions(template.load()).values()
    dynamodb.create_table(dynamodb.client(database.endpoint), table, definition)
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": table, "DYNAMODB_ENDPOINT": database.endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key, **environment})
    store.bind(settings)
    return settings


def measure(label: str, count: int, meter: Any, operation: Callable[[int], Any], extra: Callable[[], str] | None = None,
            width: int = 46) -> list[Any]:
    """Run `operation(n)` for n in range(count) and print the mean round trips, capacity and time."""
    meter.reset()
    started = time.perf_counter()
    results = [operation(n) for n in range(count)]
    elapsed = (time.perf_counter() - started) * 1000 / count
    print(f"  {label:<{width}} {meter.per(count)}; {extra() + '; ' if extra else ''}{elapsed:.1f} ms")
    return results
