"""Products sold through the one open path besides packs: game-credit top-ups (seed 001) — their orders, the queue
and delivery through the vendor. May import core, chain, store, fairness, catalog and sales (never a rail, never
the edge). `register()` tells the open path how each product's paid opening is fulfilled (sales.products)."""

from __future__ import annotations

from typing import Any

__all__ = ["fulfilment", "fulfilment_queue", "game_credits", "paid_orders", "register", "vendor"]


def register() -> None:
    """Called at start by every function that may settle a product's opening (confirm, the Stripe webhook, Open
    Payments, the sweep): the open path then knows how to fulfil it without importing it."""
    from packvault.sales import products

    products.register("game_credit", _fulfil_game_credit)


def _fulfil_game_credit(opening: Any, settlement: Any, marker: Any) -> dict[str, Any]:
    from packvault.products.paid_orders import fulfil_paid_order  # on the first paid order, not at cold start

    return fulfil_paid_order(opening, settlement, marker)
