"""Counts DynamoDB round trips and consumed capacity on the data-access layer's client, by asking
DynamoDB (Local) itself for ReturnConsumedCapacity=TOTAL on every call."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from packvault import store

_CAPACITY_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "TransactWriteItems",
                        "TransactGetItems", "BatchGetItem", "BatchWriteItem"}


class DynamoMeter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.read_units = 0.0
        self.write_units = 0.0
        self._lock = threading.Lock()
        events = store.connection().client.meta.events
        events.register("before-parameter-build.dynamodb", self._ask_for_capacity)
        events.register("after-call.dynamodb", self._record)

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in _CAPACITY_OPERATIONS:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _record(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") or []
        consumed = consumed if isinstance(consumed, list) else [consumed]
        with self._lock:
            self.calls[model.name] += 1
            for entry in consumed:
                self.read_units += entry.get("ReadCapacityUnits", 0) or 0
                self.write_units += entry.get("WriteCapacityUnits", 0) or 0
                if "ReadCapacityUnits" not in entry and "WriteCapacityUnits" not in entry:
                    units = entry.get("CapacityUnits", 0) or 0
                    if model.name.startswith(("Get", "Query", "Scan", "BatchGet", "TransactGet")):
                        self.read_units += units
                    else:
                        self.write_units += units

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.read_units = self.write_units = 0.0

    def per(self, count: int) -> str:
        calls = sum(self.calls.values()) / count
        detail = ", ".join(f"{name} {n / count:g}" for name, n in sorted(self.calls.items()))
        return (f"{calls:.2f} round trips ({detail}); {self.write_units / count:.2f} WCU, "
                f"{self.read_units / count:.2f} RCU")
