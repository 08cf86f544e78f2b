"""The notification catalogue: which appended events become which notification, and what each carries. A
notification is {id, type, created, data}; its id is derived from the event row, so the same event (the stream may
hand it over twice) is always the same notification. `data` carries the entity's state at that event (its status
included) so that a receiver can apply notifications in any order: keep the newest `created` per entity."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from packvault import store

# (entity kind, event type) -> notification type
CATALOGUE: dict[tuple[str, str], str] = {
    ("OPENING", "OPENED"): "opening.opened",
    ("OPENING", "REFUND_DUE"): "opening.refund_due",
    ("OPENING", "REFUNDED"): "opening.refunded",
    ("OPENING", "CREDITED"): "credits.topped_up",
    ("ORDER", "ORDER_SUCCEEDED"): "order.succeeded",
    ("ORDER", "ORDER_FAILED"): "order.failed",
    ("ORDER", "ORDER_REFUND_DUE"): "order.refund_due",
    ("ORDER", "ORDER_REFUNDED"): "order.refunded",
    ("HOLDING", "PACK_PURCHASED"): "entitlement.purchased",
    ("HOLDING", "PACK_EXHAUSTED"): "entitlement.exhausted",
    ("HOLDING", "PACK_REFUNDED"): "entitlement.refunded",
    ("HOLDING", "PACK_EXPIRED"): "entitlement.expired",
}
TYPES = tuple(sorted(set(CATALOGUE.values())))
# the notifications a buyer gets by email (when the account has a verified address and receipts are on)
EMAILED = ("opening.opened", "opening.refunded", "order.succeeded", "order.refunded", "credits.topped_up",
           "entitlement.purchased")


def notification_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The notification an event row (as the stream gives it, plain) stands for, or None."""
    kind, _, entity_id = str(event.get("pk", "")).partition("#")
    notification_type = CATALOGUE.get((kind, str(event.get("event_type"))))
    if notification_type is None:
        return None
    data = _DATA[kind](entity_id, _payload(event))
    if data is None:
        return None
    digest = hashlib.sha256(f"{event['pk']}|{event['sk']}".encode()).hexdigest()[:26]
    return {"id": f"evt_{digest}", "type": notification_type, "created": event.get("created_at"), "data": data}


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = {}
    return payload if isinstance(payload, dict) else {}


def _opening(opening_id: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    opening = store.get_opening(opening_id)
    if opening is None:
        return None
    data: dict[str, Any] = {
        "opening_id": opening.opening_id, "account_id": opening.wallet, "product": opening.product,
        "product_id": opening.pack_id, "name": opening.pack_name, "status": opening.status, "rail": opening.rail,
        "amount_base_units": opening.amount_base_units, "currency": opening.currency,
        "proof_url": f"/api/v1/proofs/{opening.opening_id}"}
    if opening.product == "pack" and opening.items:
        data["items"] = [{key: item.get(key) for key in ("item_id", "name", "rarity", "fmv")}
                         for item in opening.items]
    if opening.product == "credits" and opening.credits is not None:
        data["credits"] = int(opening.credits)
    if opening.bundle_id is not None:  # one of several packs one payment bought (each notifies as an opening)
        data["bundle"] = {"bundle_id": opening.bundle_id, "unit_index": int(opening.unit_index or 0),
                          **({"quantity": store.units_of(opening)} if store.units_of(opening) > 1 else {})}
    if "reason" in payload:
        data["reason"] = payload["reason"]
    return data


def _order(order_id: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    order = store.get_order(order_id)
    if order is None:
        return None
    return {"order_id": order.order_id, "order_number": order.order_number, "account_id": order.wallet,
            "item_id": order.item_id, "name": order.item_name, "status": order.status,
            **({"failure": order.failure} if order.failure else {})}


def _holding(holding_id: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    holding = store.get_holding(holding_id)
    if holding is None:
        return None
    return {"holding_id": holding.holding_id, "account_id": holding.account_id,
            "entitlement_id": holding.entitlement_id, "name": holding.name, "unit_label": holding.unit_label,
            "units_included": int(holding.units_included), "units_remaining": int(holding.units_remaining),
            "status": holding.status, "expires_at": holding.expires_at}


_DATA: dict[str, Callable[[str, dict[str, Any]], dict[str, Any] | None]] = {
    "OPENING": _opening, "ORDER": _order, "HOLDING": _holding}
