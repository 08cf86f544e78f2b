"""Delivering a paid game-credit order through the vendor, once.

A run takes the order (paid -> fulfilling, with a lease and an attempt counted), calls the vendor with the
order id as the idempotency key, and records the outcome: succeeded; or failed -> refund_due when the vendor
refuses for good or the attempts are used up; or back to paid to be retried (the queue redelivers). A message
for an order already settled calls nobody; a message arriving while another run holds the lease is retried
later. The vendor's idempotency key makes even a run that crashed after delivering safe to repeat.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from packvault import store
from packvault.core import context
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.times import iso_seconds
from packvault.products import fulfilment_queue
from packvault.products.vendor import VendorClient

if TYPE_CHECKING:  # the sweep's types only: the function that sweeps imports it, the others need not
    from packvault.sales.expiry import ShardTask, SweepReport

LEASE_SECONDS = 60
SETTLED = {"succeeded", "failed", "refund_due", "refunded"}
RECHECK_SECONDS = 300


class RetryLater(Exception):
    """The order cannot be delivered now; the message must come back (a partial batch failure)."""


def fulfil(settings: Settings, vendor: VendorClient, order_id: str, now: float | None = None) -> str:
    """delivered | settled (nothing to do) | missing | refund_due; raises RetryLater to be redelivered."""
    moment = time.time() if now is None else now
    context.act_as("system:fulfilment")
    order = store.get_order(order_id)
    if order is None:
        logger.error("fulfilment message for an unknown order", extra={"order_id": order_id})
        return "missing"
    if order.status in SETTLED:
        return "settled"
    attempt = int(order.attempts or 0) + 1
    taken = store.transition(order, ("paid", "fulfilling"), "fulfilling", "ORDER_FULFILLING", {"attempt": attempt},
                             [store.OrderRecord.attempts.set(attempt), store.OrderRecord.lease_until.set(
                                 int(moment) + LEASE_SECONDS)],
                             extra_condition=store.OrderRecord.lease_until.does_not_exist()
                             | (store.OrderRecord.lease_until < int(moment)))
    if not taken:
        current = store.get_order(order_id)
        if current is not None and current.status in SETTLED:
            return "settled"
        raise RetryLater(f"order {order_id} is being delivered by another run")
    order.status = "fulfilling"
    delivery = vendor.deliver(order_id, _vendor_request(order))
    if delivery.outcome == "delivered":
        store.transition(order, ("fulfilling",), "succeeded", "ORDER_SUCCEEDED", {"delivery": delivery.detail},
                         [store.OrderRecord.delivery.set(delivery.detail), store.OrderRecord.lease_until.remove(),
                          *store.leave_fulfilment_index()])
        return "delivered"
    if delivery.outcome == "rejected" or attempt >= settings.fulfilment_max_attempts:
        _fail(order, delivery.outcome, delivery.detail, attempt)
        return "refund_due"
    store.transition(order, ("fulfilling",), "paid", "ORDER_DELIVERY_DEFERRED", {"attempt": attempt,
                                                                              "vendor": delivery.detail},
                     [store.OrderRecord.lease_until.remove()])
    raise RetryLater(f"vendor unavailable for order {order_id} (attempt {attempt})")


def _fail(order: store.OrderRecord, outcome: str, detail: dict[str, Any], attempt: int) -> None:
    failure = {"code": "VENDOR_REJECTED" if outcome == "rejected" else "VENDOR_UNAVAILABLE", "attempts": attempt,
               "vendor": detail}
    store.transition(order, ("fulfilling",), "failed", "ORDER_FAILED", {"failure": failure},
                     [store.OrderRecord.failure.set(failure), store.OrderRecord.lease_until.remove(),
                      *store.leave_fulfilment_index()])
    order.status = "failed"
    store.transition(order, ("failed",), "refund_due", "ORDER_REFUND_DUE", {"reason": failure["code"]}, [])
    logger.warning("order failed; refund due", extra={"order_id": order.order_id, **failure})


def _vendor_request(order: store.OrderRecord) -> dict[str, Any]:
    return {"order_id": order.order_id, "order_number": order.order_number, "game_id": order.game_id,
            "item_id": order.item_id, "denomination": int(order.denomination), "user_data": order.user_data}


def resend_due(settings: Settings, shard_key: str, now: datetime, limit: int) -> int:
    """The sweep's part: orders still waiting for delivery past their check time get their message again."""
    sent = 0
    for order in store.due_orders(shard_key, iso_seconds(now), limit):
        if order.status in SETTLED:
            continue
        store.postpone_check(order, iso_seconds(now + timedelta(seconds=RECHECK_SECONDS)))
        sent += fulfilment_queue.send(settings, order.order_id)
    return sent


def from_settings(settings: Settings) -> VendorClient:
    """The vendor client; the fulfilment function cannot start without VENDOR_API_URL and a key."""
    from packvault.core.secrets_store import secret
    from packvault.core.settings import ConfigurationError

    key = secret(settings.vendor_api_key, settings.vendor_api_key_parameter)
    if not settings.vendor_api_url or not key:
        raise ConfigurationError("VENDOR_API_URL and VENDOR_API_KEY (or VENDOR_API_KEY_PARAMETER) must be set to "
                                 "deliver game credits")
    return VendorClient(settings.vendor_api_url, key)





def resend_task(settings: Settings) -> ShardTask:
    """The sweep's part for orders: in each expiry shard, paid orders whose message may have been lost, sent again."""

    def resend(shard: int, now: datetime, report: SweepReport) -> None:
        report.orders_resent += resend_due(settings, store.expiry_shard_key(store.FULFILMENT_SHARD, shard), now,
                                           settings.sweep_batch_size)

    return resend
