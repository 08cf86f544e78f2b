"""A local Stripe API double: what Packvault uses of Stripe, shaped like Stripe's published API, so the official
`stripe` library (pointed here through STRIPE_API_BASE) builds and sends its real requests.

Implements (form-encoded requests, Bearer secret key, Idempotency-Key replay, Stripe's error shape):
    POST /v1/checkout/sessions            create (mode=payment; line_items with price_data or a /v1/prices price)
    GET  /v1/checkout/sessions/{id}       retrieve
    POST /v1/checkout/sessions/{id}/expire
    POST /v1/refunds                      refund a PaymentIntent in full (or `amount`)
    POST /v1/prices, GET /v1/prices/{id}  one-off prices (unit_amount, currency, product_data[name])
and a hosted checkout page at the session's `url` where a person clicks Pay or Cancel. Events are delivered to
the registered webhook endpoint signed exactly as Stripe signs them (Stripe-Signature: t=<unix>,v1=<HMAC-SHA256
of "t.body">), retried with backoff on non-2xx, optionally duplicated or delivered out of order (tests).

Where it simplifies (stated, not hidden): one account, test mode only (livemode false); card payments succeed
at once unless the page's "async" option is chosen (payment_status unpaid, then async_payment_succeeded or
_failed on request); no customers, tax, discounts, disputes or partial captures; retries stop after
`max_attempts` (Stripe keeps trying for 3 days); sessions expire on their own at `expires_at` as Stripe's do.

Control endpoints for tests and demos (not Stripe's): GET /_double/events, POST /_double/delivery
{"duplicate": bool, "reverse_batch": int, "hold": bool}, POST /_double/release, POST
/_double/sessions/{id}/pay {"async": bool}, POST /_double/sessions/{id}/async {"succeeded": bool}, POST
/_double/refunds {"refuse": "<Stripe error code>" | null} (refuse every refund request, as Stripe does when e.g.
the balance cannot cover it).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

log = logging.getLogger("packvault.stripe-double")

API_VERSION = "2026-10-28.endive"
MIN_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS = 1800, 86400


class StripeFailure(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def body(self) -> dict[str, Any]:
        error = {"type": self.kind, "message": self.message}
        error.update({k: v for k, v in (("code", self.code), ("param", self.param)) if v})
        return {"error": error}


def new_id(prefix: str) -> str:
    """Stripe-like ids: cs_test_<58 alphanumerics> for sessions, <prefix>_<24 alphanumerics> for the rest."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    if prefix == "cs":
        return "cs_test_" + "".join(secrets.choice(alphabet) for _ in range(58))
    return f"{prefix}_" + "".join(secrets.choice(alphabet) for _ in range(24))


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: a[b][0][c]=v -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node: Any = root
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            nxt: Any = value if last else ({} if not parts[position + 1].isdigit() else [])
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None or last:
                    node[index] = nxt
                node = node[index]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return root


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Endpoint:
    url: str
    secret: str


@dataclass
class DeliveryOptions:
    duplicate: bool = False  # deliver every event twice
    reverse_batch: int = 0  # hold events and deliver each batch of N newest first
    hold: bool = False  # keep events until /_double/release
    max_attempts: int = 6
    first_retry_seconds: float = 0.5


@dataclass
class StripeState:
    secret_key: str
    public_url: str = ""
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    idempotency: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    held: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # what was sent, and the answer
    refuse_refunds: str | None = None  # a Stripe error code every refund request is refused with (tests)
    lock: threading.RLock = field(default_factory=threading.RLock)


class StripeDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, secret_key: str, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.state = StripeState(secret_key=secret_key)
        self.state.public_url = f"http://{host}:{self.server_address[1]}"
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return self.state.public_url

    def add_endpoint(self, url: str, secret: str) -> None:
        self.state.endpoints.append(Endpoint(url, secret))

    def start(self) -> StripeDouble:
        threading.Thread(target=self.serve_forever, daemon=True, name="stripe-double").start()
        threading.Thread(target=self._expire_due, daemon=True, name="stripe-double-expiry").start()
        return self

    def shutdown(self) -> None:
        self._stop.set()
        super().shutdown()
        self.server_close()

    def _expire_due(self) -> None:
        while not self._stop.wait(1):
            now = int(time.time())
            with self.state.lock:
                due = [s for s in self.state.objects.values() if s.get("object") == "checkout.session"
                       and s["status"] == "open" and s["expires_at"] <= now]
            for session in due:
                expire_session(self.state, session["id"])


# --- the API -----------------------------------------------------------------------------------------


def create_session(state: StripeState, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("mode") != "payment":
        raise StripeFailure(400, "Only mode=payment is supported by this double.", param="mode")
    items = params.get("line_items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeFailure(400, "line_items must hold exactly one item here.", param="line_items")
    currency, amount = _line_amount(state, items[0])
    for name in ("success_url", "cancel_url"):
        if name in params and not str(params[name]).startswith(("http://", "https://")):
            raise StripeFailure(400, "Not a valid URL", code="url_invalid", param=name)
    now = int(time.time())
    expires_at = int(params.get("expires_at") or now + 86400)
    if not MIN_EXPIRY_SECONDS - 5 <= expires_at - now <= MAX_EXPIRY_SECONDS:
        raise StripeFailure(400, "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                            "Checkout Session creation.", param="expires_at")
    session_id = new_id("cs")
    quantity = int(items[0].get("quantity") or 1)
    session = {
        "id": session_id, "object": "checkout.session", "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": amount * quantity, "amount_total": amount * quantity,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None, "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"), "client_secret": None, "consent": None,
        "consent_collection": None, "created": now, "currency": currency, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": None, "customer_creation": "if_required", "customer_details": None, "customer_email": None,
        "expires_at": expires_at, "invoice": None, "livemode": False, "locale": None,
        "metadata": dict(params.get("metadata") or {}), "mode": "payment", "payment_intent": None,
        "payment_link": None, "payment_method_collection": "if_required", "payment_method_types": ["card"],
        "payment_status": "unpaid", "recovered_from": None, "setup_intent": None, "shipping_address_collection": None,
        "shipping_cost": None, "shipping_options": [], "status": "open", "submit_type": None, "subscription": None,
        "success_url": params.get("success_url"), "total_details": {"amount_discount": 0, "amount_shipping": 0,
                                                                   "amount_tax": 0},
        "ui_mode": "hosted", "url": f"{state.public_url}/c/pay/{session_id}",
        "_payment_intent_data": dict((params.get("payment_intent_data") or {}).get("metadata") or {}),
        "_product_name": _product_name(state, items[0]),
    }
    with state.lock:
        state.objects[session_id] = session
    return session


def _line_amount(state: StripeState, item: dict[str, Any]) -> tuple[str, int]:
    if "price" in item:
        price = state.objects.get(str(item["price"]))
        if price is None or price.get("object") != "price":
            raise StripeFailure(400, f"No such price: '{item['price']}'", code="resource_missing",
                                param="line_items[0][price]")
        return price["currency"], int(price["unit_amount"])
    data = item.get("price_data")
    if not isinstance(data, dict) or not str(data.get("unit_amount", "")).isdigit() or not data.get("currency"):
        raise StripeFailure(400, "line_items[0] needs price or price_data[currency] and price_data[unit_amount].",
                            code="parameter_missing", param="line_items[0][price_data]")
    return str(data["currency"]).lower(), int(data["unit_amount"])


def _product_name(state: StripeState, item: dict[str, Any]) -> str:
    if "price" in item:
        return state.objects[str(item["price"])].get("_product_name", "Item")
    return str(((item.get("price_data") or {}).get("product_data") or {}).get("name") or "Item")


def create_price(state: StripeState, params: dict[str, Any]) -> dict[str, Any]:
    if not str(params.get("unit_amount", "")).isdigit() or not params.get("currency"):
        raise StripeFailure(400, "unit_amount and currency are required.", code="parameter_missing")
    price = {"id": new_id("price"), "object": "price", "active": True, "currency": str(params["currency"]).lower(),
             "unit_amount": int(params["unit_amount"]), "type": "one_time", "livemode": False,
             "created": int(time.time()), "metadata": dict(params.get("metadata") or {}),
             "_product_name": str((params.get("product_data") or {}).get("name") or "Item")}
    with state.lock:
        state.objects[price["id"]] = price
    return price


def get_object(state: StripeState, object_id: str, kind: str) -> dict[str, Any]:
    found = state.objects.get(object_id)
    if found is None or found.get("object") != kind:
        raise StripeFailure(404, f"No such {kind.split('.')[-1]}: '{object_id}'", code="resource_missing", param="id")
    return found


def expire_session(state: StripeState, session_id: str) -> dict[str, Any]:
    with state.lock:
        session = get_object(state, session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeFailure(400, "Only Checkout Sessions with a status in [\"open\"] can be expired. This "
                                f"Checkout Session has a status of \"{session['status']}\".",
                                code="checkout_session_not_open")
        session.update(status="expired", url=None)
    emit(state, "checkout.session.expired", session)
    return session


def pay_session(state: StripeState, session_id: str, asynchronous: bool = False) -> dict[str, Any]:
    """What the hosted page's Pay button does: a PaymentIntent and its Charge, the session complete."""
    with state.lock:
        session = get_object(state, session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeFailure(400, f"This Checkout Session is {session['status']}.", code="checkout_session_not_open")
        now = int(time.time())
        intent_id, charge_id = new_id("pi"), new_id("ch")
        metadata = session["_payment_intent_data"]
        intent = {"id": intent_id, "object": "payment_intent", "amount": session["amount_total"],
                  "amount_received": 0 if asynchronous else session["amount_total"], "currency": session["currency"],
                  "created": now, "latest_charge": None if asynchronous else charge_id, "livemode": False,
                  "metadata": metadata, "status": "processing" if asynchronous else "succeeded"}
        state.objects[intent_id] = intent
        if not asynchronous:
            state.objects[charge_id] = _charge(charge_id, intent, metadata, now)
        session.update(status="complete", url=None, payment_intent=intent_id,
                       payment_status="unpaid" if asynchronous else "paid",
                       customer_details={"address": None, "email": "buyer@example.com", "name": None, "phone": None,
                                         "tax_exempt": "none", "tax_ids": []})
    emit(state, "checkout.session.completed", session)
    return session


def finish_async(state: StripeState, session_id: str, succeeded: bool) -> dict[str, Any]:
    with state.lock:
        session = get_object(state, session_id, "checkout.session")
        intent = state.objects.get(session.get("payment_intent") or "")
        if session["status"] != "complete" or session["payment_status"] != "unpaid" or intent is None:
            raise StripeFailure(400, "This Checkout Session has no payment in flight.")
        if succeeded:
            charge_id = new_id("ch")
            state.objects[charge_id] = _charge(charge_id, intent, intent["metadata"], int(time.time()))
            intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id)
            session["payment_status"] = "paid"
        else:
            intent.update(status="requires_payment_method")
    emit(state, "checkout.session.async_payment_succeeded" if succeeded else "checkout.session.async_payment_failed",
         session)
    return session


def _charge(charge_id: str, intent: dict[str, Any], metadata: dict[str, Any], now: int) -> dict[str, Any]:
    return {"id": charge_id, "object": "charge", "amount": intent["amount"], "amount_captured": intent["amount"],
            "amount_refunded": 0, "captured": True, "created": now, "currency": intent["currency"],
            "disputed": False, "livemode": False, "metadata": metadata, "paid": True, "payment_intent": intent["id"],
            "refunded": False, "status": "succeeded", "balance_transaction": new_id("txn")}


def create_refund(state: StripeState, params: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        if state.refuse_refunds:  # e.g. balance_insufficient: Stripe refuses, creates nothing, keeps the answer
            raise StripeFailure(400, f"The refund could not be made ({state.refuse_refunds}).",
                                code=state.refuse_refunds)
        intent = get_object(state, str(params.get("payment_intent") or ""), "payment_intent")
        charge = state.objects.get(intent.get("latest_charge") or "")
        if charge is None:
            raise StripeFailure(400, f"PaymentIntent {intent['id']} has no successful charge to refund.",
                                code="charge_not_refundable")
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or remaining)
        if remaining <= 0:
            raise StripeFailure(400, f"Charge {charge['id']} has already been refunded.",
                                code="charge_already_refunded")
        if amount > remaining:
            raise StripeFailure(400, f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                                f"({remaining})", param="amount")
        refund = {"id": new_id("re"), "object": "refund", "amount": amount, "charge": charge["id"],
                  "created": int(time.time()), "currency": charge["currency"],
                  "metadata": dict(params.get("metadata") or {}), "payment_intent": intent["id"],
                  "reason": params.get("reason"), "status": "succeeded"}
        state.objects[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    emit(state, "refund.created", refund)
    emit(state, "charge.refunded", charge)
    return refund


# --- events and webhook delivery ---------------------------------------------------------------------


def public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def emit(state: StripeState, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    event = {"id": new_id("evt"), "object": "event", "api_version": API_VERSION, "created": int(time.time()),
             "data": {"object": json.loads(json.dumps(public(obj)))}, "livemode": False, "pending_webhooks":
             len(state.endpoints), "request": {"id": new_id("req"), "idempotency_key": None}, "type": event_type}
    with state.lock:
        state.events.append(event)
        options = state.delivery
        if options.hold or options.reverse_batch:
            state.held.append(event)
            batch = (not options.hold and len(state.held) >= options.reverse_batch)
            to_send = list(reversed(state.held)) if batch else []
            if batch:
                state.held.clear()
        else:
            to_send = [event]
    if to_send:
        _dispatch(state, to_send)
    return event


def release_held(state: StripeState, reverse: bool = True) -> int:
    with state.lock:
        held, state.held = state.held, []
    _dispatch(state, list(reversed(held)) if reverse else held)
    return len(held)


def _dispatch(state: StripeState, events: list[dict[str, Any]]) -> None:
    """Each endpoint gets the events in the order given, one after another (a batch released out of order
    arrives out of order); with `duplicate`, each event is sent twice, concurrently."""
    copies = 2 if state.delivery.duplicate else 1
    for endpoint in list(state.endpoints):
        for _ in range(copies):
            threading.Thread(target=_deliver_all, args=(state, endpoint, events), daemon=True).start()


def _deliver_all(state: StripeState, endpoint: Endpoint, events: list[dict[str, Any]]) -> None:
    for event in events:
        _deliver(state, endpoint, event)


def _deliver(state: StripeState, endpoint: Endpoint, event: dict[str, Any]) -> None:
    payload = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON
    delay = state.delivery.first_retry_seconds
    for attempt in range(1, state.delivery.max_attempts + 1):
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": sign(payload, endpoint.secret, int(time.time()))}
        try:
            status = requests.post(endpoint.url, data=payload, headers=headers, timeout=30).status_code
        except requests.RequestException as exc:
            status = f"error: {exc.__class__.__name__}"
        with state.lock:
            state.deliveries.append({"event_id": event["id"], "type": event["type"], "attempt": attempt,
                                     "status": status})
        if isinstance(status, int) and 200 <= status < 300:
            return
        log.info("webhook %s %s answered %s; retrying in %.1fs", event["type"], event["id"], status, delay)
        time.sleep(delay)
        delay *= 2


# --- HTTP --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: StripeDouble
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        try:
            if path.startswith("/c/pay/"):
                self._checkout_page(method, path, body)
                return
            if path.startswith("/_double/"):
                self._json(200, self._control(method, path, body))
                return
            self._authenticate()
            params = decode_form(body) if method == "POST" else {}
            result = self._idempotent(method, path, body, lambda: self._api(method, path, params))
            self._json(200, result)
        except StripeFailure as failure:
            self._json(failure.status, failure.body())

    def _authenticate(self) -> None:
        scheme, _, key = (self.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip(), self.server.state.secret_key):
            raise StripeFailure(401, "Invalid API Key provided.", code="api_key_invalid")

    def _idempotent(self, method: str, path: str, body: str, call: Any) -> dict[str, Any]:
        key = self.headers.get("idempotency-key")
        if method != "POST" or not key:
            return call()
        state = self.server.state
        with state.lock:
            remembered = state.idempotency.get((key, path))
            if remembered is not None:
                if remembered[0] != body:
                    raise StripeFailure(400, f"Keys for idempotent requests can only be used with the same "
                                        f"parameters they were first used with. Try using a key other than '{key}' "
                                        "if you meant to execute a different request.", kind="idempotency_error")
                if remembered[1] != 200:
                    raise StripeFailure(remembered[1], remembered[2]["error"]["message"])
                return remembered[2]
            try:
                result = public(call())
            except StripeFailure as failure:
                state.idempotency[(key, path)] = (body, failure.status, failure.body())
                raise
            state.idempotency[(key, path)] = (body, 200, result)
            return result

    def _api(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "checkout", "sessions"]:
            return public(create_session(state, params))
        if method == "GET" and parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
            return public(get_object(state, parts[3], "checkout.session"))
        if method == "POST" and parts[:3] == ["v1", "checkout", "sessions"] and parts[4:] == ["expire"]:
            return public(expire_session(state, parts[3]))
        if method == "POST" and parts == ["v1", "refunds"]:
            return public(create_refund(state, params))
        if method == "POST" and parts == ["v1", "prices"]:
            return public(create_price(state, params))
        if method == "GET" and parts[:2] == ["v1", "prices"] and len(parts) == 3:
            return public(get_object(state, parts[2], "price"))
        if method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            return public(get_object(state, parts[2], "payment_intent"))
        raise StripeFailure(404, f"Unrecognized request URL ({method}: {path}).")

    def _control(self, method: str, path: str, body: str) -> dict[str, Any]:
        state = self.server.state
        params = json.loads(body) if body.strip() else {}
        parts = path.strip("/").split("/")
        if parts == ["_double", "events"]:
            with state.lock:
                return {"events": list(state.events), "deliveries": list(state.deliveries)}
        if method == "POST" and parts == ["_double", "delivery"]:
            with state.lock:
                for name, value in params.items():
                    if hasattr(state.delivery, name):
                        setattr(state.delivery, name, value)
                return {"delivery": vars(state.delivery)}
        if method == "POST" and parts == ["_double", "refunds"]:
            with state.lock:
                state.refuse_refunds = params.get("refuse") or None
                return {"refuse": state.refuse_refunds}
        if method == "POST" and parts == ["_double", "release"]:
            return {"released": release_held(state, bool(params.get("reverse", True)))}
        if method == "POST" and len(parts) == 4 and parts[1] == "sessions" and parts[3] == "pay":
            return public(pay_session(state, parts[2], bool(params.get("async"))))
        if method == "POST" and len(parts) == 4 and parts[1] == "sessions" and parts[3] == "async":
            return public(finish_async(state, parts[2], bool(params.get("succeeded", True))))
        raise StripeFailure(404, f"Unrecognized control URL ({method}: {path}).")

    def _checkout_page(self, method: str, path: str, body: str) -> None:
        """The hosted checkout page: GET shows it; its forms POST .../pay or .../cancel and redirect back."""
        state = self.server.state
        parts = path.strip("/").split("/")  # c, pay, <session id>[, action]
        session = get_object(state, parts[2], "checkout.session")
        if method == "GET" and len(parts) == 3:
            self._html(200, _page(session))
            return
        action = parts[3] if len(parts) == 4 else ""
        if method == "POST" and action == "pay":
            pay_session(state, session["id"], asynchronous=dict(parse_qsl(body)).get("async") == "1")
            self._redirect(str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"]))
        elif method == "POST" and action == "cancel":
            self._redirect(str(session["cancel_url"]))
        else:
            raise StripeFailure(404, "No such page.")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(payload).encode(), {"request-id": new_id("req"),
                                                                              "stripe-version": API_VERSION})

    def _html(self, status: int, text: str) -> None:
        self._send(status, "text/html; charset=utf-8", text.encode(), {})

    def _redirect(self, location: str) -> None:
        self._send(303, "text/plain", b"", {"location": location})

    def _send(self, status: int, content_type: str, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def _page(session: dict[str, Any]) -> str:
    amount = f"{session['amount_total'] // 100}.{session['amount_total'] % 100:02d} {session['currency'].upper()}"
    name = html.escape(session["_product_name"])
    base = f"/c/pay/{html.escape(session['id'])}"
    if session["status"] != "open":
        return (f"<!doctype html><title>Checkout</title><h1>{name}</h1><p>This checkout session is "
                f"{html.escape(session['status'])}.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pay {name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto">
<p>Local Stripe Checkout double (test mode)</p>
<h1>{name}</h1>
<p id="amount">{amount}</p>
<form method="post" action="{base}/pay"><label><input type="checkbox" name="async" value="1">
 pay with a delayed (asynchronous) method</label><p><button id="pay" type="submit">Pay {amount}</button></p></form>
<form method="post" action="{base}/cancel"><button id="cancel" type="submit">Cancel</button></form>
</body></html>"""
