"""The one adapter to the game-credit vendor's HTTP API: POST /v1/topups with the order id as Idempotency-Key
(the vendor delivers a key once, however often it is sent), timeouts on connect and read, and retries with
backoff for what may pass (timeouts, connection errors, 408, 429, 5xx). A refusal (other 4xx) is permanent.

Contract (what the local double implements, local/vendor_double.py): 200/201 `{"delivery_id", "status":
"delivered"}`; 4xx `{"error": {"code", "message"}}` for a request it will never accept (an unknown account);
429 and 5xx for "not now".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from packvault.core.log import logger

RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Delivery:
    outcome: str  # delivered | rejected | unavailable
    detail: dict[str, Any]


class VendorClient:
    def __init__(self, base_url: str, api_key: str, timeout: tuple[float, float] = (2.0, 5.0), attempts: int = 3,
                 backoff_seconds: float = 0.25) -> None:
        self.url = base_url.rstrip("/") + "/v1/topups"
        self.api_key = api_key
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.session = requests.Session()

    def deliver(self, order_id: str, request: dict[str, Any]) -> Delivery:
        """Deliver one order's credits: delivered, rejected (permanent) or unavailable (after the retries)."""
        last: dict[str, Any] = {}
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(min(self.backoff_seconds * 2 ** (attempt - 1), 2.0))
            try:
                response = self.session.post(self.url, json=request, timeout=self.timeout, headers={
                    "Idempotency-Key": order_id, "Authorization": f"Bearer {self.api_key}"})
            except requests.RequestException as exc:
                last = {"reason": exc.__class__.__name__}
                logger.warning("vendor unreachable", extra={"order_id": order_id, "attempt": attempt + 1, **last})
                continue
            if response.status_code in (200, 201):
                return Delivery("delivered", _json(response))
            last = {"status": response.status_code, "body": _json(response)}
            if response.status_code not in RETRYABLE_STATUSES:
                return Delivery("rejected", last)
            logger.warning("vendor busy", extra={"order_id": order_id, "attempt": attempt + 1,
                                                 "status": response.status_code})
        return Delivery("unavailable", last)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text[:500]}
    return body if isinstance(body, dict) else {"body": body}
