"""Card payments through Stripe Checkout: the only code that talks to Stripe (through the official library).

Requesting a payment: one Checkout Session per opening (mode=payment, one line item, metadata naming the
opening, wallet and pack), created with a Stripe idempotency key derived from the opening id so that our
retries never make a second session. Proving settlement: a webhook event whose signature verifies
(`Webhook.construct_event`), or the session read back from Stripe; either way the session must match the
opening's quote (`session_mismatch`) before anything opens. Refunds carry an idempotency key too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe

from packvault.core import money
from packvault.core.secrets_store import secret
from packvault.core.settings import Settings
from packvault.core.settlement import STRIPE, Settlement

CURRENCY = "usd"
TIMESTAMP_SKEW_SECONDS = 300  # construct_event bounds a webhook's age; we also refuse one from the future


class ProviderUnavailable(RuntimeError):
    """Stripe could not be reached or failed on its side: retry later (our calls are idempotent)."""


class ProviderRefused(RuntimeError):
    """Stripe answered and refused the request (invalid, not permitted): asking again may not help, but a refund
    that is due is asked for again until it is accepted (an operator may have to fix its cause first)."""


class WebhookRejected(ValueError):
    """A webhook whose signature is missing or does not verify, or whose body is not an event."""


class WebhookMalformed(WebhookRejected):
    """A correctly signed body that is not a Stripe event (not JSON, not an object, nested past reason)."""


@dataclass(frozen=True)
class CheckoutRequest:
    opening_id: str
    wallet: str
    pack_id: str
    pack_name: str
    amount_cents: int
    stripe_price_id: str | None
    success_url: str
    cancel_url: str
    expires_at: int  # unix seconds; Stripe accepts 30 minutes to 24 hours ahead
    quantity: int = 1  # a bundle: `quantity` packs at `amount_cents` each


def from_settings(settings: Settings) -> StripeCheckout | None:
    """The container's Stripe rail, or None where card payments are not configured (no secret key)."""
    key = secret(settings.stripe_secret_key, settings.stripe_secret_key_parameter)
    if key is None:
        return None
    webhook_secret = secret(settings.stripe_webhook_secret, settings.stripe_webhook_secret_parameter)
    return StripeCheckout(key, webhook_secret, settings.stripe_api_base)


class StripeCheckout:
    """One per container: the library's client, pointed at STRIPE_API_BASE when set (the local double)."""

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None = None) -> None:
        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(secret_key, base_addresses=base, max_network_retries=2)
        self._webhook_secret = webhook_secret

    def create_session(self, request: CheckoutRequest) -> dict[str, Any]:
        # account_id: the buyer's account; wallet: the same id under the name sessions made before accounts used
        metadata = {"opening_id": request.opening_id, "account_id": request.wallet, "wallet": request.wallet,
                    "pack_id": request.pack_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [_line_item(request)],
            "client_reference_id": request.opening_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at,
        }
        return self._call(lambda: self._client.v1.checkout.sessions.create(
            params, {"idempotency_key": f"packvault-checkout-{request.opening_id}"}))

    def retrieve_session(self, session_id: str) -> dict[str, Any]:
        return self._call(lambda: self._client.v1.checkout.sessions.retrieve(session_id))

    def expire_session(self, session_id: str) -> dict[str, Any]:
        """Expires an open session so nobody can pay it; a session no longer open is returned as it is."""
        try:
            return self._call(lambda: self._client.v1.checkout.sessions.expire(session_id))
        except stripe.InvalidRequestError:
            return self.retrieve_session(session_id)

    def refund(self, payment_intent: str, opening_id: str, refusals: int = 0) -> dict[str, Any]:
        """A full refund, once per opening: the idempotency key is the opening's, so the parameters are the same on
        every retry (Stripe refuses a key reused with other ones); the reason is in our REFUND_REQUESTED event.
        Stripe replays a refused (4xx) answer to the same key for 24 h, and a refused request created nothing, so
        after `refusals` refusals the key carries their count; a full refund cannot be made twice whatever the key
        (Stripe answers charge_already_refunded)."""
        params = {"payment_intent": payment_intent, "metadata": {"opening_id": opening_id}}
        key = f"packvault-refund-{opening_id}" + (f"-{refusals}" if refusals else "")
        try:
            return self._call(lambda: self._client.v1.refunds.create(params, {"idempotency_key": key}))
        except stripe.InvalidRequestError as exc:
            if exc.code == "charge_already_refunded":  # asked before (a key older than Stripe's 24 h): it is done
                return {"id": None, "already_refunded": True}
            raise ProviderRefused(f"{exc.code or 'invalid_request'}: {exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise ProviderRefused(f"{exc.code or type(exc).__name__}: {exc.user_message or exc}") from None

    def verify_event(self, payload: bytes, signature_header: str | None, now: int) -> dict[str, Any]:
        """The event, if its Stripe-Signature verifies against the endpoint secret; WebhookRejected otherwise."""
        if not self._webhook_secret:
            raise RuntimeError("STRIPE_WEBHOOK_SECRET (or its SSM parameter) is not configured")
        if not signature_header:
            raise WebhookRejected("no Stripe-Signature header")
        try:  # the signature first: construct_event would parse an unverified body before checking it
            stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header, self._webhook_secret,
                                                  stripe.Webhook.DEFAULT_TOLERANCE)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"signature: {exc.user_message or exc}") from None
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8 JSON") from None
        if _signed_at(signature_header) > now + TIMESTAMP_SKEW_SECONDS:
            raise WebhookRejected("signature timestamp is in the future")
        try:
            document = json.loads(payload)
        except (ValueError, RecursionError):
            raise WebhookMalformed("the body is not JSON") from None
        if not isinstance(document, dict) or document.get("object") != "event" or not isinstance(
                document.get("data"), dict) or not isinstance(document["data"].get("object"), dict):
            raise WebhookMalformed("the body is not a Stripe event")
        return document

    @staticmethod
    def _call(request: Any) -> dict[str, Any]:
        try:
            return request().to_dict()
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise ProviderUnavailable(str(exc)) from None


def _line_item(request: CheckoutRequest) -> dict[str, Any]:
    if request.stripe_price_id:
        return {"price": request.stripe_price_id, "quantity": request.quantity}
    return {"quantity": request.quantity, "price_data": {"currency": CURRENCY, "unit_amount": request.amount_cents,
                                                         "product_data": {"name": request.pack_name}}}


def _signed_at(header: str) -> int:
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    return 0


# --- what a session must show (pure) ----------------------------------------------------------------


def session_mismatch(session: dict[str, Any], opening_id: str, wallet: str, amount_cents: int,
                     session_id: str | None, livemode: bool) -> str | None:
    """Why this session cannot settle this opening, or None. Metadata alone is never trusted: the amount,
    currency and mode must be the quote's, and the session the one created for it (when we know its id)."""
    if bool(session.get("livemode")) != livemode:
        return f"livemode is {bool(session.get('livemode'))}, this deployment expects {livemode}"
    if session_id is not None and session.get("id") != session_id:
        return f"session {session.get('id')} is not the one created for this opening ({session_id})"
    if session.get("mode") != "payment":
        return f"mode is {session.get('mode')!r}, not 'payment'"
    if str(session.get("currency") or "").lower() != CURRENCY:
        return f"currency is {session.get('currency')!r}, the quote is in USD"
    if session.get("amount_total") != amount_cents:
        return f"amount_total is {session.get('amount_total')}, the quote is {amount_cents} cents"
    metadata = session.get("metadata") or {}
    if (metadata.get("opening_id", opening_id) != opening_id or metadata.get("wallet", wallet) != wallet
            or metadata.get("account_id", wallet) != wallet):
        return "metadata names another opening or wallet"
    return None


def is_paid(session: dict[str, Any]) -> bool:
    return session.get("status") == "complete" and session.get("payment_status") == "paid"


def settlement(session: dict[str, Any], found_by: str) -> Settlement:
    """The PaymentIntent is Stripe's id for the money: it is the claim key (refunds and disputes name it)."""
    payment_intent = _id(session.get("payment_intent"))
    if not payment_intent:
        raise ValueError(f"session {session.get('id')} has no PaymentIntent")
    details = {"rail": STRIPE, "checkout_session_id": session["id"], "payment_intent_id": payment_intent,
               "currency": "USD", "received": money.from_base_units(int(session["amount_total"]), 2),
               "received_base_units": str(session["amount_total"]), "found_by": found_by,
               "entropy": payment_intent}  # Checkout creates the PaymentIntent when the buyer pays: after the quote
    return Settlement(STRIPE, payment_intent, details,
                      {"checkout_session_id": session["id"], "payment_intent_id": payment_intent})


def _id(value: Any) -> str | None:
    """An id whether Stripe sent it bare or expanded into an object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) and value else None


def charge_payment_intent(charge: dict[str, Any]) -> str | None:
    return _id(charge.get("payment_intent"))
