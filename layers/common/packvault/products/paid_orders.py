"""A paid game-credit quote becomes its paid order (same id) in the one open transaction, then goes to delivery:
what `products.register()` registers with the open path (sales.products). Apart from game_credits so that reading
orders and pay-first purchases (GraphQL) do not import the open path."""

from __future__ import annotations

import contextlib
from typing import Any

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settlement import Settlement
from packvault.products import fulfilment_queue
from packvault.products.game_credits import paid_order
from packvault.sales.settle import receipt, request_token


def fulfil_paid_order(opening: store.OpeningRecord, settlement: Settlement,
                       marker: store.ProcessedEventRecord | None) -> dict[str, Any]:
    """A paid game-credit quote becomes a paid order (same id) in the open transaction, then goes to delivery."""
    from packvault.core.settings import ConfigurationError, get_settings

    for attempt in range(3):  # an order number drawn twice in one second: draw again
        order = paid_order(opening, settlement.details, settlement.payment_id)
        now = store.utc_now_iso()
        changes = {"status": "OPENED", "opened_at": now, "updated_at": now, "payment_id": settlement.payment_id,
                   "payment": settlement.details, "items": [], **dict(store.reference_fields(opening, settlement)),
                   "product_data": {**(opening.product_data or {}), "order_number": order.order_number}}
        event = store.new_event(opening.pk, "ORDERED", {"rail": settlement.rail, "payment_id": settlement.payment_id,
                                                        "order_number": order.order_number})
        try:
            store.fulfil_product(opening, changes, settlement,
                                 request_token(opening.opening_id, settlement, attempt), event,
                                 store.order_writes(order), marker)
        except store.OpenFailed:
            current = store.get_opening(opening.opening_id)
            if current is not None and current.status == "OPENED":
                return receipt(current)  # a concurrent or repeated settlement made the order
            claim = store.get_payment_claim(settlement.rail, settlement.payment_id)
            if claim is not None and claim.opening_id != opening.opening_id:
                raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
            if current is None or current.status != "QUOTED":
                raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
            continue
        for name, value in changes.items():
            setattr(opening, name, value)
        with contextlib.suppress(ConfigurationError):  # no process settings (a script): the sweep sends it
            fulfilment_queue.send(get_settings(), order.order_id)
        return receipt(opening)
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def stop_delivery(order_id: str, refund: dict[str, Any]) -> None:
    """A refunded game-credit order not yet handed to the vendor is not delivered; one already delivered (or in
    flight) is recorded for operators: the credits cannot be taken back from the game."""
    order = store.get_order(order_id)
    if order is None:
        return
    if not store.transition(order, ("paid",), "refunded", "ORDER_CANCELLED_BY_REFUND", {"refund": refund},
                            [store.OrderRecord.failure.set({"code": "REFUNDED_BEFORE_DELIVERY", "refund": refund}),
                             *store.leave_fulfilment_index()]):
        store.record_event(order.pk, "ORDER_REFUNDED_AFTER_DELIVERY", {"status": order.status, "refund": refund})
        logger.warning("card refund of a game-credit order already delivered or in flight",
                       extra={"order_id": order_id, "status": order.status})
