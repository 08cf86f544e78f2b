"""Card checkout: reserve a unit, then ask Stripe for a Checkout Session, in that order (seed 004 §4.1).

1. The opening is persisted first (QUOTED, supply reserved, fairness committed, the Idempotency-Key's
   answer remembered as pending), through the same reservation every rail uses.
2. The Checkout Session is created with a Stripe idempotency key derived from the opening id.
3. The session id and URL are persisted on the opening, and the remembered answer completed, together.
A retry with the same Idempotency-Key (header, or seed 004's `idempotency_key` in the body) returns the original
answer, or finishes steps 2-3 for the same opening: never a second opening, never a second session. Without one
(or with a new one), a checkout of the same buyer for the same product made in the last IN_FLIGHT_WINDOW whose
session still has IN_FLIGHT_MIN_LEFT to run is answered again instead of a new one (seed 004 §4.1: "return the
original checkout_url"); it is found among the buyer's newest openings (an index read, so two calls in the same
instant may still make two). The reservation lasts as long as the session.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.settlement import STRIPE
from packvault.core.times import parse_iso
from packvault.fairness import primitives as fairness
from packvault.fairness.quote_signing import signed_commitment
from packvault.rails.card.stripe_api import CheckoutRequest, ProviderUnavailable, StripeCheckout
from packvault.sales import products
from packvault.sales.reservation import (
    Reservation,
    check_pack_id,
    quantity_field,
    read_quantity,
    recall,
    remembered_row,
    reserve,
)
from packvault.sales.return_urls import return_url

OPERATION = "checkout"
TOPUP_OPERATION = "topup-checkout"
_CLIENT_SEED = re.compile(r"^[\x20-\x7e]{1,128}$")
IN_FLIGHT_WINDOW = timedelta(minutes=10)
IN_FLIGHT_MIN_LEFT = timedelta(minutes=10)


OPERATIONS = {"pack": OPERATION, "credits": TOPUP_OPERATION}  # a registered product: checkout.<product>


def create_checkout(settings: Settings, cards: StripeCheckout | None, wallet: str, pack_id: str,
                    body: dict[str, Any], idempotency_key: str | None, product: str = "pack",
                    product_data: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """(201, {opening_id, checkout_url, checkout_session_id, expires_at}). `product="credits"`: `pack_id` names
    a bundle of credits (a top-up), which is posted to the balance when the session is paid; a registered product
    (sales.products, e.g. a game-credit item) with what the product read into `product_data`
    (packvault.edge.purchasing), which the product fulfils when paid."""
    if cards is None:
        raise PackvaultError(ErrorCode.CARD_PAYMENTS_UNAVAILABLE)
    check_pack_id(pack_id)
    success_url = return_url(settings, body, "success_url")
    cancel_url = return_url(settings, body, "cancel_url")
    client_seed = body.get("client_seed")
    if client_seed is not None and not (isinstance(client_seed, str) and _CLIENT_SEED.match(client_seed)):
        raise PackvaultError(ErrorCode.INVALID_CLIENT_SEED)
    quantity = read_quantity(body) if product == "pack" else 1
    request_hash = fairness.canonical_hash({"pack_id": pack_id, "success_url": success_url, "cancel_url": cancel_url,
                                            "client_seed": client_seed, "rail": STRIPE, "product": product,
                                            **({"product_data": product_data} if product_data else {}),
                                            **quantity_field(quantity)})
    operation = operation_of(product)
    remembered = recall(wallet, operation, idempotency_key, request_hash)
    if remembered is None and (earlier := _in_flight(wallet, pack_id, product, client_seed, product_data, quantity)):
        logger.info("checkout in flight answered again", extra={"opening_id": earlier.opening_id})
        return 201, _answer(earlier, earlier.rail_refs["checkout_session_id"], earlier.rail_refs["checkout_url"])
    if remembered is None:
        spec = Reservation(STRIPE, operation, money.USD.symbol, client_seed, settings.checkout_session_ttl_seconds,
                           product=product, product_data=product_data, quantity=quantity)
        reserved = reserve(settings, wallet, pack_id, spec, idempotency_key, request_hash)
        if isinstance(reserved, store.OpeningRecord):
            return 201, _open_session(cards, reserved, success_url, cancel_url, idempotency_key)
        remembered = reserved
    if int(remembered.status_code) == 201:
        return 201, remembered.response
    opening = store.get_opening(remembered.response["opening_id"])  # reserved, but its session is not recorded
    if opening is None or opening.status != "QUOTED":
        raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE, "This checkout's reservation has ended; start a new "
                             "checkout with another Idempotency-Key.")
    return 201, _open_session(cards, opening, success_url, cancel_url, idempotency_key)


def operation_of(product: str) -> str:
    """The Idempotency-Key scope of a card checkout of this product."""
    return OPERATIONS.get(product, f"checkout.{product}")


def _open_session(cards: StripeCheckout, opening: store.OpeningRecord, success_url: str, cancel_url: str,
                  idempotency_key: str | None) -> dict[str, Any]:
    pack = store.get_pack(opening.pack_id) if opening.product == "pack" else None
    request = CheckoutRequest(
        opening_id=opening.opening_id, wallet=opening.wallet, pack_id=opening.pack_id, pack_name=opening.pack_name,
        amount_cents=int(opening.amount_base_units) // store.units_of(opening),
        stripe_price_id=pack.stripe_price_id if pack else None, success_url=success_url, cancel_url=cancel_url,
        expires_at=int(parse_iso(opening.quote_expires_at).astimezone(UTC).timestamp()),
        quantity=store.units_of(opening),
    )
    try:
        session = cards.create_session(request)
    except ProviderUnavailable as exc:
        logger.warning("stripe unavailable creating a checkout session", extra={"opening_id": opening.opening_id,
                                                                                "error": str(exc)})
        raise PackvaultError(ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE) from None
    answer = _answer(opening, session["id"], session["url"])
    references = {"checkout_session_id": session["id"], "checkout_url": session["url"]}
    remembered = remembered_row(opening.wallet, operation_of(opening.product), idempotency_key)
    store.attach_checkout(opening, references, remembered, answer)
    return answer


def _answer(opening: store.OpeningRecord, session_id: str, checkout_url: str) -> dict[str, Any]:
    answer = {"opening_id": opening.opening_id, "checkout_url": checkout_url,
              "checkout_session_id": session_id, "expires_at": opening.quote_expires_at,
              "amount": money.from_base_units(int(opening.amount_base_units), money.USD.decimals), "currency": "USD",
              "server_seed_hash": opening.server_seed_hash}
    if opening.product == "credits":
        answer |= {"product": "credits", "credits": int(opening.credits)}
    answer |= products.view_fields(opening, "checkout")
    if opening.product == "pack" and opening.stock_committed is not None:
        answer |= signed_commitment(opening)
    return answer


def _in_flight(wallet: str, pack_id: str, product: str, client_seed: str | None,
               product_data: dict[str, Any] | None, quantity: int = 1) -> store.OpeningRecord | None:
    """This buyer's open card checkout for the same product and choices, recent and with time left to pay."""
    now = datetime.now(UTC)
    for opening in store.wallet_openings(wallet, 10, None).rows:
        refs = opening.rail_refs or {}
        same = (opening.status == "QUOTED" and opening.rail == STRIPE and opening.pack_id == pack_id
                and opening.product == product and opening.client_seed == client_seed
                and store.units_of(opening) == quantity
                and (opening.product_data or {}).get("user_data") == (product_data or {}).get("user_data"))
        if same and refs.get("checkout_url") and parse_iso(opening.created_at) >= now - IN_FLIGHT_WINDOW \
                and parse_iso(opening.quote_expires_at) >= now + IN_FLIGHT_MIN_LEFT:
            return opening
    return None
