"""Products sold through the one open path besides packs: game-credit top-ups (seed 001) — their orders, the queue and
delivery through the vendor — and entitlement packs (seed 004) — holdings of units a partner service consumes. May
import core, chain, store, fairness, catalog and sales (never a rail, never the edge). `register()` tells the open
path how each product's paid opening is fulfilled (sales.products)."""

from __future__ import annotations

from typing import Any

__all__ = ["entitlements", "fulfilment", "fulfilment_queue", "game_credits", "paid_orders", "register", "vendor"]


def register() -> None:
    """Called at start by every function (edge.runtime.configure): the open path and the rails then serve game
    credits without importing them. The hooks import the product's modules on first use, not at cold start."""
    from packvault.sales import products

    products.register("game_credit", products.ProductKind(reserve_fields=_reserve_fields, fulfil=_fulfil,
                                                          view_fields=_view_fields, refunded=_refunded))
    products.register("entitlement", products.ProductKind(
        reserve_fields=lambda *a: _entitlements().reservation_fields(*a),
        fulfil=lambda *a: _entitlements().fulfil(*a),
        view_fields=lambda *a: _entitlements().opening_fields(*a),
        refunded=lambda *a: _entitlements().refunded(*a)))


def _entitlements() -> Any:
    from packvault.products import entitlements

    return entitlements


def _reserve_fields(item_id: str, currency: str, product_data: dict[str, Any]) -> dict[str, Any]:
    from packvault.products.game_credits import reservation_fields

    return reservation_fields(item_id, currency, product_data)


def _fulfil(opening: Any, settlement: Any, marker: Any) -> dict[str, Any]:
    from packvault.products.paid_orders import fulfil_paid_order

    return fulfil_paid_order(opening, settlement, marker)


def _view_fields(opening: Any, view: str) -> dict[str, Any]:
    from packvault.products.game_credits import opening_fields

    return opening_fields(opening, view)


def _refunded(opening: Any, refund: dict[str, Any]) -> None:
    from packvault.products.paid_orders import stop_delivery

    stop_delivery(opening.opening_id, refund)
