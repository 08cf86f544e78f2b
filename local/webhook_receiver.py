"""A partner's webhook receiver, for `make demo` and the tests: an HTTP server on 127.0.0.1 that verifies each
delivery exactly as docs say a partner should (Standard Webhooks, below), answers 2xx only to a valid signature,
and keeps what it received. It can be told to fail the first N attempts (to show retries)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The five lines a partner writes (README, "Notifications"): HMAC-SHA256 with the base64-decoded secret over
    "{webhook-id}.{webhook-timestamp}.{body}", base64, compared with each v1 signature; the timestamp recent."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) <= TOLERANCE_SECONDS
    return fresh and any(hmac.compare_digest(f"v1,{expected}", s) for s in headers["webhook-signature"].split())


class WebhookReceiver(ThreadingHTTPServer):
    def __init__(self, fail_first: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret: str | None = None
        self.endpoint_id: str | None = None
        self.operator: Any = None  # who registered it (the demo disables its endpoint when done)
        self.fail_first = fail_first
        self.attempts: list[dict[str, Any]] = []  # every request: headers, body, verified, answered
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.serve_forever, daemon=True, name="webhook-receiver").start()
        return self

    def register(self, api: str, admin_keypair: str, event_types: list[str]) -> WebhookReceiver:
        """Registered on the local stack by its operator (the keypair `make run` made), for these types; started."""
        from packvault_tools.client import Keypair, PackvaultClient

        self.operator = PackvaultClient(api)
        self.operator.sign_in(Keypair.load(admin_keypair))
        created = self.operator.request("POST", "/api/v1/admin/webhook-endpoints",
                                        {"url": self.url, "event_types": event_types},
                                        headers={"idempotency-key": f"receiver-{uuid.uuid4()}"})
        self.secret, self.endpoint_id = created["secret"], created["endpoint_id"]
        return self.start()

    def close(self) -> None:
        """Stop, and disable its endpoint: later events are not sent to a closed port."""
        self.shutdown()
        if self.operator is not None and self.endpoint_id is not None:
            self.operator.request("POST", f"/api/v1/admin/webhook-endpoints/{self.endpoint_id}/disable",
                                  {"reason": "the local receiver stopped"},
                                  headers={"idempotency-key": f"receiver-{uuid.uuid4()}"})

    def received(self, notification_type: str | None = None) -> list[dict[str, Any]]:
        """The notifications accepted (verified and answered 2xx), oldest first."""
        return [a["body"] for a in self.attempts if a["answered"] < 300
                and (notification_type is None or a["body"]["type"] == notification_type)]

    def wait_for(self, notification_type: str, seconds: float = 20, opening_id: str | None = None,
                 ) -> dict[str, Any] | None:
        """The newest verified notification of this type (about `opening_id`, when given), waiting for it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [n for n in self.received(notification_type)
                     if opening_id is None or n["data"].get("opening_id") == opening_id]
            if found:
                return found[-1]
            time.sleep(0.2)
        return None


class _Handler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = self.server.secret is not None and all(
            h in headers for h in ("webhook-id", "webhook-timestamp", "webhook-signature")) and verify(
            self.server.secret, headers, body)
        with self.server.lock:
            failing = len(self.server.attempts) < self.server.fail_first
            status = 401 if not verified else 500 if failing else 204
            self.server.attempts.append({"headers": headers, "body": json.loads(body or b"{}"),
                                         "verified": verified, "answered": status})
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass
