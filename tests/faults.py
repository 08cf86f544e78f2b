"""Fault injection for tests: DynamoDB failures at the Nth call of an operation, through botocore's event hooks on
the data layer's own client (nothing in the data layer is mocked). Every scenario ends with the audit
(packvault_tools.audit)."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from packvault import store
from packvault_tools.audit import audit  # noqa: F401 - the scenarios' closing check


class InjectedCrash(RuntimeError):
    """The process 'died' at this point: whatever was committed stays committed, the caller saw an error."""


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any) -> bytes:
        return self._data


def _error_response(status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
    return AWSResponse("http://dynamodb", status, {"x-amzn-requestid": "injected", "content-type":
                                                    "application/x-amz-json-1.0"}, _Body(body))


@dataclass
class Faults:
    """faults.inject("TransactWriteItems", nth=1, kind="throttle"): the first TransactWriteItems is refused with
    a throttling error (botocore retries it, as in production). Kinds: throttle, server_error, timeout (refused
    before sending), cancelled (a transaction cancelled by a condition, nothing written), crash_after (the call
    commits, then the caller gets InjectedCrash)."""

    planned: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    seen: Counter = field(default_factory=Counter)
    fired: list[tuple[str, int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        events = store.connection().client.meta.events
        events.register_first("before-send.dynamodb", self._before_send, unique_id="packvault-faults-send")
        events.register("after-call.dynamodb", self._after_call, unique_id="packvault-faults-after")

    def inject(self, operation: str, nth: int, kind: str) -> Faults:
        self.planned[operation].append((nth, kind))
        return self

    def close(self) -> None:
        events = store.connection().client.meta.events
        events.unregister("before-send.dynamodb", unique_id="packvault-faults-send")
        events.unregister("after-call.dynamodb", unique_id="packvault-faults-after")

    def _due(self, operation: str, kinds: set[str], count: bool) -> str | None:
        with self._lock:
            if count:
                self.seen[operation] += 1
            for nth, kind in self.planned.get(operation, []):
                if nth == self.seen[operation] and kind in kinds and (operation, nth, kind) not in self.fired:
                    self.fired.append((operation, nth, kind))
                    return kind
        return None

    def _before_send(self, request: Any, **_: Any) -> Any:
        operation = (request.headers.get("X-Amz-Target") or b"").decode().rsplit(".", 1)[-1]
        kind = self._due(operation, {"throttle", "server_error", "timeout", "cancelled"}, count=True)
        if kind == "throttle":
            return _error_response(400, "ProvisionedThroughputExceededException")
        if kind == "server_error":
            return _error_response(500, "InternalServerError")
        if kind == "cancelled":
            return _error_response(400, "TransactionCanceledException")
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return None

    def _after_call(self, model: Any, http_response: Any = None, **_: Any) -> None:
        if http_response is not None and http_response.status_code >= 400:
            return
        if self._due(model.name, {"crash_after"}, count=False):
            raise InjectedCrash(f"crashed after {model.name} #{self.seen[model.name]} committed")


class RpcFaults:
    """A Solana JSON-RPC proxy in front of the local node that misbehaves as planned, per method and call number:
    rpc.inject("getTransaction", nth=1, kind="http_429"). Kinds: http_429 (with Retry-After: 0), http_503,
    reset (the connection is closed without an answer), node_error (a JSON-RPC error: the node is behind),
    down (every call of that method fails with 503 until `heal`). Everything else is forwarded unchanged."""

    def __init__(self, upstream: str) -> None:
        import http.server

        import requests

        proxy = self
        self.upstream, self.seen, self.planned, self.fired = upstream, Counter(), defaultdict(list), []
        self.down: set[str] = set()
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                method = json.loads(body or b"{}").get("method", "")
                kind = proxy._due(method)
                if kind == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if kind in {"http_429", "http_503"}:
                    self.send_response(429 if kind == "http_429" else 503)
                    self.send_header("retry-after", "0")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if kind == "node_error":
                    self._reply(json.dumps({"jsonrpc": "2.0", "id": json.loads(body)["id"], "error": {
                        "code": -32005, "message": "Node is behind by 42 slots"}}).encode())
                    return
                forwarded = requests.post(proxy.upstream, data=body, timeout=10,
                                          headers={"content-type": "application/json"})
                self._reply(forwarded.content)

            def _reply(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def inject(self, method: str, nth: int, kind: str) -> RpcFaults:
        if kind == "down":
            self.down.add(method)
        else:
            self.planned[method].append((nth, kind))
        return self

    def heal(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.server.shutdown()

    def _due(self, method: str) -> str | None:
        with self._lock:
            self.seen[method] += 1
            if method in self.down:
                self.fired.append((method, self.seen[method], "down"))
                return "http_503"
            for nth, kind in self.planned.get(method, []):
                if nth == self.seen[method]:
                    self.fired.append((method, nth, kind))
                    return kind
        return None
