"""The sweep, put together: sales.expiry walks the due openings and hands each to its rail, which this module
registers (Solana, card, Open Payments; credits openings are never due), with each product's own due work. The one
place that knows every rail and product the sweep serves; the expire function and `packvault sweep` call it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from packvault import products
from packvault.chain.rpc import SolanaRpc
from packvault.core.settings import Settings
from packvault.core.settlement import OPEN_PAYMENTS, SOLANA, STRIPE
from packvault.products.fulfilment import resend_task
from packvault.rails.solana import sweep as solana_sweep
from packvault.sales import expiry
from packvault.sales.expiry import SweepReport

if TYPE_CHECKING:
    from packvault.rails.card.stripe_api import StripeCheckout
    from packvault.rails.open_payments.checkout import OpenPaymentsRail

__all__ = ["SweepReport", "sweep"]


def sweep(settings: Settings, rpc: SolanaRpc | None, millis_left: Callable[[], int] = lambda: 10**9,
          now: datetime | None = None, cards: StripeCheckout | None = None,
          wallets: OpenPaymentsRail | None = None, anchor_key: Any | None = None) -> SweepReport:
    """One run of the sweep over every rail configured here (see sales.expiry.sweep)."""
    products.register()
    rails: dict[str, expiry.SettleDue] = {SOLANA: solana_sweep.settle_due(settings, rpc)}
    after: list[expiry.AfterTask] = []
    try:  # the card rail needs the Stripe layer; unconfigured, its due openings are logged, never dropped
        from packvault.rails.card import settlement as card_settlement
    except ImportError:
        card_settlement = None
    if card_settlement is not None:
        rails[STRIPE] = card_settlement.settle_due(settings, cards)
        if cards is not None:
            after.append(card_settlement.refunds_task(cards))
    from packvault.rails.open_payments import checkout as open_payments_checkout

    rails[OPEN_PAYMENTS] = open_payments_checkout.settle_due(wallets)
    from packvault.products.entitlements import expire_task

    return expiry.sweep(settings, rails, [resend_task(settings), expire_task(settings)], after, millis_left, now, rpc,
                        anchor_key)

