"""A Solana payment quote: the reservation, plus a Solana Pay reference the payment must carry, for a pack, a
bundle of credits or a game-credit item (whose terms the edge has read: packvault.edge.purchasing)."""

from __future__ import annotations

import re
from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import Settings
from packvault.core.settlement import SOLANA
from packvault.fairness import primitives as fairness
from packvault.sales.openings import signed_quote_view
from packvault.sales.reservation import (
    Reservation,
    check_idempotency_key,
    check_pack_id,
    quantity_field,
    read_quantity,
    reserve,
)

OPERATION = "purchase"
_CLIENT_SEED = re.compile(r"^[\x20-\x7e]{1,128}$")


def purchase(settings: Settings, wallet: str, pack_id: str, body: dict[str, Any],
             idempotency_key: str | None, payer: str | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, quote). A retried request with the same Idempotency-Key gets the same answer. `payer`: the
    account's wallet the payment must come from (None: the account id is that wallet)."""
    check_pack_id(pack_id)
    currency, client_seed = _read_body(body)
    quantity = read_quantity(body)
    request_hash = fairness.canonical_hash({"pack_id": pack_id, "currency": currency, "client_seed": client_seed,
                                            **_payer_field(wallet, payer), **quantity_field(quantity)})
    spec = Reservation(SOLANA, OPERATION, currency, client_seed, settings.quote_ttl_seconds, payer_wallet=payer,
                       quantity=quantity)
    return _quote(settings, wallet, pack_id, spec, idempotency_key, request_hash)


def _quote(settings: Settings, wallet: str, product_id: str, spec: Reservation, idempotency_key: str | None,
           request_hash: str) -> tuple[int, dict[str, Any]]:
    """(201, the quote), or the answer an Idempotency-Key already got."""
    check_idempotency_key(idempotency_key)
    # No read first: a key used before makes the reservation's transaction fail, and then its answer is read.
    opening = reserve(settings, wallet, product_id, spec, idempotency_key, request_hash)
    if not isinstance(opening, store.OpeningRecord):
        return int(opening.status_code), opening.response
    return 201, signed_quote_view(opening)


TOPUP_OPERATION = "topup"


def purchase_bundle(settings: Settings, wallet: str, bundle_id: str, body: dict[str, Any],
                    idempotency_key: str | None, payer: str | None = None) -> tuple[int, dict[str, Any]]:
    """A Solana quote for a bundle of credits (a top-up): paid and confirmed like a pack's, it posts credits."""
    check_pack_id(bundle_id)
    currency, _ = _read_body({**body, "client_seed": None})
    request_hash = fairness.canonical_hash({"bundle_id": bundle_id, "currency": currency,
                                            **_payer_field(wallet, payer)})
    spec = Reservation(SOLANA, TOPUP_OPERATION, currency, None, settings.quote_ttl_seconds, product="credits",
                       payer_wallet=payer)
    return _quote(settings, wallet, bundle_id, spec, idempotency_key, request_hash)


def purchase_product(settings: Settings, wallet: str, product: str, product_id: str, body: dict[str, Any],
                     idempotency_key: str | None, product_data: dict[str, Any],
                     payer: str | None = None) -> tuple[int, dict[str, Any]]:
    """Quote first, as for packs, for a registered product (sales.products: e.g. a game-credit item with the account
    to credit, read by the product into `product_data`); once paid and confirmed (confirm-payment, or the sweep) the
    product fulfils it (a game-credit quote becomes its paid order)."""
    check_pack_id(product_id)
    currency, _ = _read_body({**body, "client_seed": None})
    request_hash = fairness.canonical_hash({"item_id": product_id, "currency": currency, **product_data,
                                            **_payer_field(wallet, payer)})
    spec = Reservation(SOLANA, f"{product}.purchase", currency, None, settings.quote_ttl_seconds,
                       product=product, product_data=product_data, payer_wallet=payer)
    return _quote(settings, wallet, product_id, spec, idempotency_key, request_hash)


def _payer_field(account: str, payer: str | None) -> dict[str, str]:
    """What the idempotency hash adds for a payer other than the account itself (nothing otherwise, so requests
    remembered before accounts existed hash as they did)."""
    return {"payer_wallet": payer} if payer is not None and payer != account else {}


def _read_body(body: dict[str, Any]) -> tuple[str, str | None]:
    raw_currency = body.get("currency", "SOL")
    try:
        currency = money.currency(raw_currency).symbol if isinstance(raw_currency, str) else None
    except money.MoneyFormatError:
        currency = None
    if currency is None:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"Unknown currency {raw_currency!r}; accepted: "
                             f"{', '.join(sorted(money.CURRENCIES))}.")
    if money.currency(currency).rail != SOLANA:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"{currency} is paid by card: use POST "
                             "/api/v1/packs/{pack_id}/checkout.", currency=currency)
    client_seed = body.get("client_seed")
    if client_seed is not None and not (isinstance(client_seed, str) and _CLIENT_SEED.match(client_seed)):
        raise PackvaultError(ErrorCode.INVALID_CLIENT_SEED)
    return currency, client_seed


