"""The local Stripe double's webhook delivery: signed as Stripe signs (the official library verifies it),
retried with backoff until the endpoint answers 2xx."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

from local.stripe_double import StripeDouble, emit

SECRET = "whsec_double_unit_0123456789"


class _FlakyEndpoint(BaseHTTPRequestHandler):
    answers = [500, 503, 200]
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((body, self.headers["stripe-signature"]))
        status = self.answers[min(len(self.received), len(self.answers)) - 1]
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_webhooks_are_signed_like_stripe_and_retried_until_accepted():
    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyEndpoint)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    double = StripeDouble(0, "sk_test_unit").start()
    try:
        double.add_endpoint(f"http://127.0.0.1:{endpoint.server_address[1]}/hook", SECRET)
        double.state.delivery.first_retry_seconds = 0.05
        event = emit(double.state, "checkout.session.expired", {"id": "cs_test_1", "object": "checkout.session"})
        deadline = time.monotonic() + 5
        while len(double.state.deliveries) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d["status"] for d in double.state.deliveries] == [500, 503, 200]
        for body, header in _FlakyEndpoint.received:  # every attempt is freshly signed and verifies
            verified = stripe.Webhook.construct_event(body, header, SECRET)
            assert verified.id == event["id"] and verified.type == "checkout.session.expired"
    finally:
        double.shutdown()
        endpoint.shutdown()
