"""Products sold through the one open path besides packs: game-credit top-ups (seed 001) — their orders, the queue
and delivery through the vendor. May import core, chain, store, fairness, catalog and sales (never a rail, never
the edge). `register()` tells the open path how each product's paid opening is fulfilled (sales.products)."""

from __future__ import annotations

__all__ = ["fulfilment", "fulfilment_queue", "game_credits", "register", "vendor"]


def register() -> None:
    """Called at start by every function that may settle a product's opening (confirm, the Stripe webhook, Open
    Payments, the sweep): the open path then knows how to fulfil it without importing it."""
    from packvault.products.game_credits import fulfil_paid_order
    from packvault.sales import products

    products.register("game_credit", fulfil_paid_order)
