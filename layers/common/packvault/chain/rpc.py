"""The Solana JSON-RPC client: the only code that talks to Solana.

Timeouts on every call; HTTP 429, 5xx, timeouts and connection errors are retried with exponential
backoff and jitter (honouring Retry-After), then the next configured URL is tried.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from typing import Any

import requests

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
UNSUPPORTED_VERSION = -32015


class RpcUnavailable(RuntimeError):
    """No configured RPC URL answered after retries."""


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"RPC error {code}: {message}")


class SolanaRpc:
    def __init__(self, urls: Sequence[str], timeout: tuple[float, float] = (3.05, 10.0), attempts_per_url: int = 3,
                 backoff_seconds: float = 0.2, max_backoff_seconds: float = 2.0,
                 session: requests.Session | None = None) -> None:
        if not urls:
            raise ValueError("at least one Solana RPC URL is needed (SOLANA_RPC_URLS)")
        self.urls = list(urls)
        self.timeout = timeout
        self.attempts_per_url = attempts_per_url
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.session = session or requests.Session()
        self.calls = 0  # HTTP requests made, for benchmarks
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any]) -> Any:
        failures = []
        for url in self.urls:
            for attempt in range(self.attempts_per_url):
                try:
                    return self._post(url, method, params)
                except _Transient as transient:
                    failures.append(f"{url}: {transient}")
                    if attempt + 1 < self.attempts_per_url:
                        time.sleep(self._delay(attempt, transient.retry_after))
        raise RpcUnavailable(f"{method} failed on every RPC URL: {'; '.join(failures[-3:])}")

    def _post(self, url: str, method: str, params: list[Any]) -> Any:
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        self.calls += 1
        try:
            response = self.session.post(url, json=payload, timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _Transient(type(exc).__name__) from exc
        if response.status_code in TRANSIENT_STATUS:
            raise _Transient(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code != 200:
            raise RpcError(response.status_code, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise _Transient("a response that is not JSON") from exc
        if body.get("error"):
            raise RpcError(int(body["error"].get("code", 0)), str(body["error"].get("message", "")))
        return body.get("result")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        return random.uniform(0, min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt))

    def get_transaction(self, signature: str, commitment: str = "confirmed", max_version: int = 0) -> Any:
        """The transaction at `commitment`, or None when it is not (yet) visible there."""
        return self.call("getTransaction", [signature, {"encoding": "json", "commitment": commitment,
                                                        "maxSupportedTransactionVersion": max_version}])

    def get_signatures_for_address(self, address: str, limit: int = 20, commitment: str = "confirmed") -> Any:
        return self.call("getSignaturesForAddress", [address, {"limit": limit, "commitment": commitment}])


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(reason)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None
