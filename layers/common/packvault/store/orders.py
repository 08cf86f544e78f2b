"""Game-credit top-ups: the items on sale, and orders from payment to delivery.

An order is created already paid (its payment was verified first), in one transaction with its unique order
number, the payment's claim row (a signature pays one order or opening, ever) and its event. While it waits
for delivery it sits in the sweep's index (`F<shard>` keys): if its queue message was lost, the sweep sends
another. Each change of status is one conditional update with its event.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.store.payments import PAYMENT_SORT_KEY, PaymentClaimRecord, payment_pk
from packvault.store.table import (
    ByKindIndex,
    EventRecord,
    ExpiryIndex,
    Page,
    Row,
    TableMeta,
    connection,
    is_condition_failure,
    new_event,
    newest_first,
    register,
    utc_now_iso,
)

TOPUPS_LIST_KEY = "TOPUPS"
TOPUP_SORT_KEY = "TOPUP"
ORDER_SORT_KEY = "ORDER"
ORDER_NUMBER_SORT_KEY = "ORDER_NUMBER"
FULFILMENT_SHARD = "F"  # the sweep's index: orders waiting for delivery, keyed by when to look again


class TopupItemRecord(Row):
    """One item on sale (e.g. 86 Diamonds of one game), with its game's user-data schema."""

    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=TOPUPS_LIST_KEY)
    gsi1sk = UnicodeAttribute()  # <game_id>#<item_id>
    item_id = UnicodeAttribute()
    game_id = UnicodeAttribute()
    game_name = UnicodeAttribute()
    name = UnicodeAttribute()
    denomination = NumberAttribute()
    prices = MapAttribute()  # currency -> canonical decimal string
    status = UnicodeAttribute()  # the game's status
    user_data_schema = JSONAttribute()
    updated_at = UnicodeAttribute()


class OrderRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    by_expiry = ExpiryIndex()
    gsi1pk = UnicodeAttribute()  # WALLET#<wallet>#ORDERS
    gsi1sk = UnicodeAttribute()  # <created_at>#<order_id>
    expiry_shard = UnicodeAttribute(null=True)  # F<shard> while waiting for delivery
    expires_at = UnicodeAttribute(null=True)  # ... when the sweep looks at it next
    order_id = UnicodeAttribute()
    order_number = UnicodeAttribute()
    wallet = UnicodeAttribute()
    item_id = UnicodeAttribute()
    game_id = UnicodeAttribute()
    item_name = UnicodeAttribute()
    denomination = NumberAttribute()
    currency = UnicodeAttribute()
    amount_base_units = UnicodeAttribute()
    status = UnicodeAttribute()  # paid | fulfilling | succeeded | failed | refund_due | refunded
    user_data = JSONAttribute()
    crypto_transaction = JSONAttribute()  # signature, state, confirmations, block time, payer, received
    payment_id = UnicodeAttribute()
    attempts = NumberAttribute(default=0)  # delivery attempts made
    lease_until = NumberAttribute(null=True)  # unix seconds: a fulfilment run holds the order until then
    delivery = JSONAttribute(null=True)  # the vendor's answer on success
    failure = JSONAttribute(null=True)  # why delivery failed
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class OrderNumberRecord(Row):
    class Meta(TableMeta):
        pass

    order_id = UnicodeAttribute()


class OrderRefundRecord(Row):
    """One row per order awaiting a refund (pk ORDERS_REFUND_DUE), so operators list them without a scan."""

    class Meta(TableMeta):
        pass

    order_id = UnicodeAttribute()


ORDER_REFUNDS_PK = "ORDERS_REFUND_DUE"


def refund_row(order: OrderRecord) -> OrderRefundRecord:
    return OrderRefundRecord(pk=ORDER_REFUNDS_PK, sk=f"{order.created_at}#{order.order_id}", order_id=order.order_id)


def orders_refund_due(limit: int = 100) -> list[OrderRecord]:
    rows = OrderRefundRecord.query(ORDER_REFUNDS_PK, limit=limit, consistent_read=True)
    return [o for row in rows if (o := get_order(row.order_id)) is not None and o.status == "refund_due"]


def mark_order_refunded(order: OrderRecord, refund: dict[str, Any], actor: str) -> bool:
    """refund_due -> refunded, with the refund's reference; the order leaves the operators' list."""
    return transition(order, ("refund_due",), "refunded", "ORDER_REFUNDED", {**refund, "actor": actor},
                      [OrderRecord.failure.set({**(order.failure or {}), "refund": refund})],
                      delete=[refund_row(order)])


def topup_pk(item_id: str) -> str:
    return f"TOPUP#{item_id}"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def wallet_orders_key(wallet: str) -> str:
    return f"WALLET#{wallet}#ORDERS"


def put_topup_item(item: TopupItemRecord) -> None:
    item.save()


def get_topup_item(item_id: str) -> TopupItemRecord | None:
    try:
        return TopupItemRecord.get(topup_pk(item_id), TOPUP_SORT_KEY)
    except TopupItemRecord.DoesNotExist:
        return None


def list_topup_items() -> list[TopupItemRecord]:
    return list(TopupItemRecord.by_kind.query(TOPUPS_LIST_KEY))


def get_order(order_id: str) -> OrderRecord | None:
    try:
        return OrderRecord.get(order_pk(order_id), ORDER_SORT_KEY, consistent_read=True)
    except OrderRecord.DoesNotExist:
        return None


def wallet_orders(wallet: str, limit: int, cursor: str | None) -> Page:
    """A wallet's orders, newest first."""
    return newest_first(OrderRecord.by_kind, "gsi1pk", wallet_orders_key(wallet), limit, cursor)


class OrderConflict(RuntimeError):
    """The order could not be created: `reason` is "payment_claimed" or "number_taken"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def order_writes(order: OrderRecord) -> Any:
    """The writes that create an order inside someone else's transaction (the open path, which claims the
    payment itself): the order, its number, its event."""

    def write(transaction: TransactWrite) -> None:
        number = OrderNumberRecord(pk=f"ORDERNO#{order.order_number}", sk=ORDER_NUMBER_SORT_KEY,
                                   order_id=order.order_id)
        transaction.save(order, condition=OrderRecord.pk.does_not_exist())
        transaction.save(number, condition=OrderNumberRecord.pk.does_not_exist())
        transaction.save(new_event(order.pk, "ORDER_PAID", {"order_number": order.order_number, "status": "paid",
                                                            "payment_id": order.payment_id,
                                                            "opening_id": order.order_id}),
                         condition=EventRecord.pk.does_not_exist())

    return write


def create_order(order: OrderRecord) -> None:
    """Order + unique order number + the payment's claim + the event, in one transaction."""
    claim = PaymentClaimRecord(pk=payment_pk("solana", order.payment_id), sk=PAYMENT_SORT_KEY, rail="solana",
                               payment_id=order.payment_id, opening_id=f"order:{order.order_id}",
                               wallet=order.wallet, claimed_at=order.created_at)
    number = OrderNumberRecord(pk=f"ORDERNO#{order.order_number}", sk=ORDER_NUMBER_SORT_KEY, order_id=order.order_id)
    event = new_event(order.pk, "ORDER_PAID" if order.status == "paid" else "ORDER_REFUND_DUE",
                      {"order_number": order.order_number, "status": order.status, "payment_id": order.payment_id,
                       "amount_base_units": order.amount_base_units, "currency": order.currency,
                       **({"failure": order.failure} if order.failure else {})})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(order, condition=OrderRecord.pk.does_not_exist())
            transaction.save(number, condition=OrderNumberRecord.pk.does_not_exist())
            transaction.save(claim, condition=PaymentClaimRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
            if order.status == "refund_due":
                transaction.save(refund_row(order))
    except TransactWriteError as exc:
        reasons = [reason.code if reason is not None else None for reason in (exc.cancellation_reasons or [])]
        if len(reasons) >= 3 and reasons[2] == "ConditionalCheckFailed":
            raise OrderConflict("payment_claimed") from exc
        if len(reasons) >= 2 and reasons[1] == "ConditionalCheckFailed":
            raise OrderConflict("number_taken") from exc
        raise


def transition(order: OrderRecord, from_statuses: tuple[str, ...], to_status: str, event_type: str,
               payload: dict[str, Any], changes: list[Any], extra_condition: Any = None,
               delete: list[Row] | None = None) -> bool:
    """One conditional status change with its event (and the refund list kept in step), in one transaction;
    False when the order was not in `from_statuses`."""
    now = utc_now_iso()
    condition = OrderRecord.status.is_in(*from_statuses)
    if extra_condition is not None:
        condition &= extra_condition
    event = new_event(order.pk, event_type, {"from": order.status, "to": to_status, **payload})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(order, actions=[OrderRecord.status.set(to_status), OrderRecord.updated_at.set(now),
                                               *changes], condition=condition)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
            if to_status == "refund_due":
                transaction.save(refund_row(order))
            for row in delete or []:
                transaction.delete(row)
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def leave_fulfilment_index() -> list[Any]:
    return [OrderRecord.expiry_shard.remove(), OrderRecord.expires_at.remove()]


def due_orders(shard_key: str, up_to: str, limit: int) -> list[OrderRecord]:
    """Orders in one fulfilment shard whose next check is at or before `up_to`."""
    rows = OrderRecord.by_expiry.query(shard_key, OrderRecord.expires_at <= up_to, limit=limit, page_size=limit)
    return [order for row in rows if (order := get_order(row.pk.removeprefix("ORDER#"))) is not None]


def postpone_check(order: OrderRecord, next_check: str) -> None:
    try:
        order.update(actions=[OrderRecord.expires_at.set(next_check)], condition=OrderRecord.expiry_shard.exists())
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


register(TopupItemRecord, OrderRecord, OrderNumberRecord, OrderRefundRecord)
