"""Entitlement packs (seed 004): paid through the one open path like any product, a holding of N units is created
in the open transaction itself (holding id = the opening's id, so one payment can never make two), and a partner
service consumes the units later, one order at a time, exactly once per order reference; a refund voids what is
left. What `products.register()` registers as the product "entitlement"."""

from __future__ import annotations

import contextlib
import random
import re
import time
from datetime import timedelta
from typing import Any

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settlement import Settlement
from packvault.core.times import iso_seconds, parse_iso
from packvault.sales.settle import receipt, request_token

PRODUCT = "entitlement"
_ORDER_REF = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_UNITS_PER_ORDER = 1000
CONSUME_ATTEMPTS = 16  # each write is conditional on the count read; contention on one holding reads again


def reservation_fields(entitlement_id: str, currency: str, product_data: dict[str, Any]) -> dict[str, Any]:
    product = store.get_entitlement(entitlement_id)
    if product is None:
        raise PackvaultError(ErrorCode.ENTITLEMENT_NOT_FOUND)
    prices = product.prices.as_dict()
    if product.status != "ACTIVE":
        raise PackvaultError(ErrorCode.PRODUCT_UNAVAILABLE)
    if currency not in prices:
        raise PackvaultError(ErrorCode.CURRENCY_NOT_ACCEPTED, f"This product is priced in {', '.join(sorted(prices))}, "
                             f"not {currency}.")
    return {"pack_id": product.entitlement_id, "pack_name": product.name, "prices": prices, "cards_per_pack": 0,
            "odds_version": 0, "odds_hash": "", "product": PRODUCT,
            "product_data": {**product_data, "units_included": int(product.units_included),
                             "unit_label": product.unit_label, "definition_hash": product.definition_hash,
                             "validity_days": int(product.validity_days) if product.validity_days else None}}


def fulfil(opening: store.OpeningRecord, settlement: Settlement,
           marker: store.ProcessedEventRecord | None) -> dict[str, Any]:
    """The paid opening becomes a holding in the one open transaction: the opening OPENED, the payment claimed, the
    holding (units_remaining = locked_credits_remaining = units_included, purchased_at = the payment's time) and
    PACK_PURCHASED, all or nothing."""
    data = opening.product_data or {}
    now = store.utc_now_iso()
    units = int(data["units_included"])
    expires = (iso_seconds(parse_iso(now) + timedelta(days=int(data["validity_days"])))
               if data.get("validity_days") else None)
    holding = store.HoldingRecord(
        pk=store.holding_pk(opening.opening_id), sk="HOLDING", gsi1pk=store.holdings_key(opening.wallet),
        gsi1sk=f"{now}#{opening.opening_id}", holding_id=opening.opening_id, account_id=opening.wallet,
        entitlement_id=opening.pack_id, name=opening.pack_name, unit_label=data["unit_label"],
        units_included=units, units_remaining=units, locked_credits_remaining=units, status="ACTIVE",
        purchased_at=now, expires_at=expires, definition_hash=data["definition_hash"], rail=settlement.rail,
        expiry_shard=store.expiry_shard_key(store.HOLDING_SHARD, _shard_of(opening)) if expires else None,
        payment_id=settlement.payment_id, updated_at=now)
    purchased = store.new_event(holding.pk, "PACK_PURCHASED", {
        "units_delta": units, "locked_credits_delta": units, "entitlement_id": opening.pack_id,
        "rail": settlement.rail, "payment_id": settlement.payment_id, "account_id": opening.wallet})
    changes = {"status": "OPENED", "opened_at": now, "updated_at": now, "payment_id": settlement.payment_id,
               "payment": settlement.details, "items": [], **dict(store.reference_fields(opening, settlement))}
    opened = store.new_event(opening.pk, "ENTITLEMENT_PURCHASED", {"holding_id": opening.opening_id,
                                                                   "rail": settlement.rail, "units": units})
    try:
        store.fulfil_product(opening, changes, settlement, request_token(opening.opening_id, settlement, 0), opened,
                             store.holding_writes(holding, purchased), marker)
    except store.OpenFailed:
        current = store.get_opening(opening.opening_id)
        if current is not None and current.status == "OPENED":
            return receipt(current)  # a concurrent or repeated settlement made the holding
        claim = store.get_payment_claim(settlement.rail, settlement.payment_id)
        if claim is not None and claim.opening_id != opening.opening_id:
            raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
        raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
    for name, value in changes.items():
        setattr(opening, name, value)
    return receipt(opening)


def _shard_of(opening: store.OpeningRecord) -> int:
    """The holding's expiry shard: its quote's (already spread over EXPIRY_SHARDS by the reservation)."""
    return int(opening.expiry_shard[1:]) if opening.expiry_shard and opening.expiry_shard[1:].isdigit() else 0


def expire_task(settings: Any) -> Any:
    """The sweep's part for entitlements: in each expiry shard, holdings whose validity ended become EXPIRED."""
    from datetime import datetime

    def expire(shard: int, now: datetime, report: Any) -> None:
        for holding in store.due_holdings(store.expiry_shard_key(store.HOLDING_SHARD, shard), iso_seconds(now),
                                          settings.sweep_batch_size):
            store.expire_holding(holding)

    return expire


def opening_fields(opening: store.OpeningRecord, view: str) -> dict[str, Any]:
    data = opening.product_data or {}
    fields = {"product": PRODUCT, "entitlement_id": opening.pack_id, "units_included": data.get("units_included"),
              "unit_label": data.get("unit_label")}
    return {**fields, "holding_id": opening.opening_id} if view == "receipt" else fields


def refunded(opening: store.OpeningRecord, refund: dict[str, Any]) -> None:
    store.refund_holding(opening.opening_id, refund)


def holding_view(holding: store.HoldingRecord) -> dict[str, Any]:
    return {"holding_id": holding.holding_id, "entitlement_id": holding.entitlement_id, "name": holding.name,
            "unit_label": holding.unit_label, "units_included": int(holding.units_included),
            "units_remaining": int(holding.units_remaining),
            "locked_credits_remaining": int(holding.locked_credits_remaining), "status": _status(holding),
            "purchased_at": holding.purchased_at, "expires_at": holding.expires_at}


def _status(holding: store.HoldingRecord) -> str:
    if holding.status == "ACTIVE" and holding.expires_at is not None and holding.expires_at <= store.utc_now_iso():
        return "EXPIRED"
    return holding.status


def my_holdings(account_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        page = store.account_holdings(account_id, limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    return {"holdings": [holding_view(row) for row in page.rows], "cursor": page.cursor}


# --- consumption by a partner service ------------------------------------------------------------------------


def consume(client_id: str, holding_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Take `units` for the partner's order `order_ref`: (200, the consumption). The same order_ref again answers
    the first result; fewer units left than asked is 409 INSUFFICIENT_UNITS with the count, nothing written."""
    units, order_ref = body.get("units"), body.get("order_ref")
    if not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= MAX_UNITS_PER_ORDER:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"units: a whole number from 1 to {MAX_UNITS_PER_ORDER}.",
                             field="units")
    _check_order_ref(order_ref)
    for attempt in range(CONSUME_ATTEMPTS):
        # Two round trips when nothing is in the way: the holding, then the transaction (whose condition on the
        # consumption row is the idempotency check). The order_ref is looked up only when something refuses.
        holding = _holding(holding_id)
        try:
            _refuse_unusable(holding)
            if int(holding.units_remaining) < units:
                raise PackvaultError(ErrorCode.INSUFFICIENT_UNITS, units_remaining=int(holding.units_remaining),
                                     units_requested=units)
        except PackvaultError:
            if (earlier := store.get_consumption(client_id, order_ref)) is not None:
                return _earlier(earlier, holding_id, units)  # a retry after the units ran out: the first answer
            raise
        try:
            row = store.consume(holding, client_id, order_ref, units, store.utc_now_iso())
        except store.ConsumeFailed:  # the order_ref was used, or the holding moved: read again, decide again
            if (earlier := store.get_consumption(client_id, order_ref)) is not None:
                return _earlier(earlier, holding_id, units)
            time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            continue
        return 200, consumption_view(row, holding_id)
    raise PackvaultError(ErrorCode.BUSY_RETRY)  # safe to retry: the same order_ref is taken at most once


def restore(client_id: str, holding_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Give back the units of this service's order `order_ref` once (its order was cancelled)."""
    order_ref = body.get("order_ref")
    _check_order_ref(order_ref)
    consumption = store.get_consumption(client_id, order_ref)
    if consumption is None or consumption.holding_id != holding_id:
        raise PackvaultError(ErrorCode.CONSUMPTION_NOT_FOUND)
    if consumption.restored_at is None:
        holding = _holding(holding_id)
        _refuse_unusable(holding)
        with contextlib.suppress(store.ConsumeFailed):  # restored concurrently, or refunded: read what is true now
            store.restore(consumption, holding, store.utc_now_iso())
        consumption = store.get_consumption(client_id, order_ref) or consumption
        if consumption.restored_at is None:
            raise PackvaultError(ErrorCode.HOLDING_REFUNDED)
    holding = _holding(holding_id)
    return 200, {**consumption_view(consumption, holding_id), "restored_at": consumption.restored_at,
                 "units_remaining": int(holding.units_remaining)}


def service_holding(holding_id: str) -> dict[str, Any]:
    """What a partner holding the id may see: the holding's units and status, not the buyer."""
    view = holding_view(_holding(holding_id))
    return {key: view[key] for key in ("holding_id", "entitlement_id", "unit_label", "units_included",
                                       "units_remaining", "status", "expires_at")}


def consumption_view(row: store.ConsumptionRecord, holding_id: str) -> dict[str, Any]:
    return {"holding_id": holding_id, "order_ref": row.order_ref, "units": int(row.units),
            "units_remaining": int(row.units_remaining_after), "consumed_at": row.consumed_at,
            "restored_at": row.restored_at}


def _earlier(row: store.ConsumptionRecord, holding_id: str, units: int) -> tuple[int, dict[str, Any]]:
    if row.holding_id != holding_id or int(row.units) != units:
        raise PackvaultError(ErrorCode.ORDER_REF_REUSED, "This order_ref was used for another consumption.",
                             holding_id=row.holding_id, units=int(row.units))
    return 200, consumption_view(row, holding_id)


def _holding(holding_id: str) -> store.HoldingRecord:
    if not re.fullmatch(r"[0-9a-f-]{36}", holding_id or ""):
        raise PackvaultError(ErrorCode.HOLDING_NOT_FOUND)
    holding = store.get_holding(holding_id)
    if holding is None:
        raise PackvaultError(ErrorCode.HOLDING_NOT_FOUND)
    return holding


def _refuse_unusable(holding: store.HoldingRecord) -> None:
    status = _status(holding)
    if status == "REFUNDED":
        raise PackvaultError(ErrorCode.HOLDING_REFUNDED)
    if status == "EXPIRED":
        raise PackvaultError(ErrorCode.HOLDING_EXPIRED, expires_at=holding.expires_at)


def _check_order_ref(order_ref: Any) -> None:
    if not isinstance(order_ref, str) or not _ORDER_REF.match(order_ref):
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "order_ref: your order's id, 1-128 letters, digits and "
                             "_ . : -", field="order_ref")
