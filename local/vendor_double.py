"""A local double of a game-credit vendor's top-up API (the contract packvault/vendor.py documents).

POST /v1/topups with `Authorization: Bearer <key>` and an `Idempotency-Key`: a key is delivered once; sending it
again answers the same delivery. What happens depends on the game account id, so every path can be driven:
- `reject...`  422 {"error": {"code": "ACCOUNT_NOT_FOUND", ...}}: a permanent refusal
- `slow...`    the first 2 calls per key sleep 8 s (past the client's read timeout), then delivered
- `flaky...`   the first 2 calls per key answer 503, then delivered
- `down...`    always 503
- anything else: delivered at once.
GET /_double/deliveries lists what was delivered (key -> delivery and how many calls it took).
Simplification: no signatures on callbacks (the vendor sends none in this contract), state in memory.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class VendorState:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}


class VendorDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, api_key: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = VendorState(api_key)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> VendorDouble:
        threading.Thread(target=self.serve_forever, daemon=True, name="vendor-double").start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: VendorDouble

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/_double/deliveries":
            with self.server.state.lock:
                self._reply(200, {"deliveries": self.server.state.deliveries, "calls": self.server.state.calls})
        else:
            self._reply(404, {"error": {"code": "NOT_FOUND", "message": "no such route"}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/topups":
            return self._reply(404, {"error": {"code": "NOT_FOUND", "message": "no such route"}})
        if self.headers.get("authorization") != f"Bearer {state.api_key}":
            return self._reply(401, {"error": {"code": "UNAUTHORIZED", "message": "bad API key"}})
        key = self.headers.get("idempotency-key")
        account = str((body.get("user_data") or {}).get("game_account_id", ""))
        if not key:
            return self._reply(400, {"error": {"code": "IDEMPOTENCY_KEY_REQUIRED", "message": "send one"}})
        with state.lock:
            state.calls[key] = calls = state.calls.get(key, 0) + 1
            if key in state.deliveries:
                return self._reply(200, state.deliveries[key])
        if account.startswith("reject"):
            return self._reply(422, {"error": {"code": "ACCOUNT_NOT_FOUND", "message": f"no account {account}"}})
        if account.startswith("down") or (account.startswith("flaky") and calls <= 2):
            return self._reply(503, {"error": {"code": "UNAVAILABLE", "message": "try again later"}})
        if account.startswith("slow") and calls <= 2:
            time.sleep(8)
        delivery = {"delivery_id": f"dlv_{uuid.uuid4().hex[:16]}", "status": "delivered",
                    "denomination": body.get("denomination"), "game_account_id": account}
        with state.lock:
            delivery = state.deliveries.setdefault(key, delivery)
        self._reply(201, delivery)

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out first (the "slow" accounts)
            pass
