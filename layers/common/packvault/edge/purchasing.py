"""Which rail and which product a purchase request is for: the one place, with the handlers, that knows every rail
and product, so that no rail dispatches to another and none reads a product's terms itself.

    POST /packs/{id}/purchase            a price in credits -> rails.credits (opened at once); else rails.solana
    POST /game-credits/{id}/purchase     the product reads the game account -> rails.solana quote
    POST /entitlements/products/{id}/purchase                            -> rails.solana quote
    POST /.../checkout (card)            the product reads the game account (game credits) -> rails.card
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packvault.core import money
from packvault.core.settings import Settings
from packvault.core.settlement import CREDITS
from packvault.sales.reservation import check_pack_id

if TYPE_CHECKING:
    from packvault.rails.card.stripe_api import StripeCheckout

# Rails and products are imported where used: each function loads only the rail it serves (the card rail needs the
# Stripe layer, which only the card functions have), and the purchase function (the hot path) does not pay for the
# game-credit product's imports on every cold start.

__all__ = ["checkout", "purchase", "purchase_bundle", "purchase_entitlement", "purchase_game_credit"]


def purchase(settings: Settings, wallet: str, pack_id: str, body: dict[str, Any],
             idempotency_key: str | None, signed_in: str | None = None) -> tuple[int, dict[str, Any]]:
    """A Solana quote, or with `"currency": "CREDIT"` (or `"payment": "credits"`) the pack opened from the balance.
    `wallet` is the account; a Solana quote names the account's wallet the payment must come from (`payer`)."""
    from packvault.rails.credits import open as balance_open
    from packvault.rails.solana import quote

    if body.get("payment") == CREDITS or str(body.get("currency", "")).strip().upper() == money.CREDIT.symbol:
        return balance_open.open_with_credits(settings, wallet, pack_id, body, idempotency_key)
    return quote.purchase(settings, wallet, pack_id, body, idempotency_key, _payer(wallet, body, signed_in))


def purchase_bundle(settings: Settings, wallet: str, bundle_id: str, body: dict[str, Any],
                    idempotency_key: str | None, signed_in: str | None = None) -> tuple[int, dict[str, Any]]:
    from packvault.rails.solana import quote

    return quote.purchase_bundle(settings, wallet, bundle_id, body, idempotency_key,
                                 _payer(wallet, body, signed_in))


def purchase_game_credit(settings: Settings, wallet: str, item_id: str, body: dict[str, Any],
                         idempotency_key: str | None, signed_in: str | None = None) -> tuple[int, dict[str, Any]]:
    from packvault.products import game_credits
    from packvault.rails.solana import quote

    check_pack_id(item_id)
    item, user_data = game_credits.order_terms(item_id, body)
    return quote.purchase_product(settings, wallet, "game_credit", item.item_id, body, idempotency_key,
                                  {"user_data": user_data}, _payer(wallet, body, signed_in))


def purchase_entitlement(settings: Settings, wallet: str, entitlement_id: str, body: dict[str, Any],
                         idempotency_key: str | None, signed_in: str | None = None) -> tuple[int, dict[str, Any]]:
    """A Solana quote for an entitlement pack; paid and confirmed, the open transaction makes its holding."""
    from packvault.rails.solana import quote

    check_pack_id(entitlement_id)
    return quote.purchase_product(settings, wallet, "entitlement", entitlement_id, body, idempotency_key, {},
                                  _payer(wallet, body, signed_in))


def _payer(account: str, body: dict[str, Any], signed_in: str | None) -> str:
    """The Solana rail's one account rule: the payment comes from a wallet linked to the account (the account's own
    address, the wallet the session signed in with, `payer_wallet`, or the account's only wallet)."""
    from packvault.accounts.principal import payer_wallet

    return payer_wallet(account, body.get("payer_wallet"), signed_in)


def checkout(settings: Settings, cards: StripeCheckout | None, wallet: str, product_id: str, body: dict[str, Any],
             idempotency_key: str | None, product: str = "pack") -> tuple[int, dict[str, Any]]:
    from packvault.rails.card import checkout as card_checkout

    product_data = None
    if product == "game_credit" and cards is not None:
        from packvault.products import game_credits

        check_pack_id(product_id)
        product_data = {"user_data": game_credits.order_terms(product_id, body)[1]}
    return card_checkout.create_checkout(settings, cards, wallet, product_id, body, idempotency_key, product,
                                         product_data)
