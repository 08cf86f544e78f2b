"""Entitlement packs (seed 004): products of units a partner consumes later, the holdings buyers own, each
consumption, and the partner services allowed to consume:

    ENTITLEMENT#<entitlement_id>  PRODUCT      a product on sale: units, unit label, prices, status, validity, hash
                                               GSI1: ENTITLEMENTS / <entitlement_id>
    HOLDING#<holding_id>          HOLDING      a buyer's paid holding (holding id = the paying opening's id: one
                                               payment, one holding): units_remaining = locked_credits_remaining
                                               GSI1: ACCOUNT#<account_id>#HOLDINGS / <purchased_at>#<holding_id>
    CONSUMPTION#<client>#<ref>    CONSUMPTION  one order of a service consuming units (the idempotency row)
    SERVICECLIENT#<client_id>     CLIENT       a partner service: hashed secrets (two during a rotation), scopes

Every change to a product or a holding appends a typed event (PACK_*) on its own partition in the same
transaction (seed 004 §2.3).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

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

PRODUCT_SORT_KEY = "PRODUCT"
HOLDING_SORT_KEY = "HOLDING"
CONSUMPTION_SORT_KEY = "CONSUMPTION"
CLIENT_SORT_KEY = "CLIENT"
HOLDING_SHARD = "H"  # the sweep's index: holdings with a validity, keyed by when they expire
ENTITLEMENTS_LIST_KEY = "ENTITLEMENTS"


class EntitlementProductRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default=ENTITLEMENTS_LIST_KEY)
    gsi1sk = UnicodeAttribute()
    entitlement_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    units_included = NumberAttribute()
    unit_label = UnicodeAttribute()
    prices = MapAttribute()  # currency -> canonical decimal string
    status = UnicodeAttribute()  # ACTIVE | INACTIVE
    validity_days = NumberAttribute(null=True)  # a holding expires this long after purchase (None: never)
    definition_hash = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class HoldingRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    by_expiry = ExpiryIndex()  # sparse: a holding with a validity, until it expires, under H<shard>
    expiry_shard = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()  # ACCOUNT#<account_id>#HOLDINGS
    gsi1sk = UnicodeAttribute()  # <purchased_at>#<holding_id>
    holding_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    entitlement_id = UnicodeAttribute()
    name = UnicodeAttribute()
    unit_label = UnicodeAttribute()
    units_included = NumberAttribute()
    units_remaining = NumberAttribute()
    locked_credits_remaining = NumberAttribute()  # seed 004's v1 invariant: always equal to units_remaining
    status = UnicodeAttribute()  # ACTIVE | EXHAUSTED | REFUNDED | EXPIRED
    purchased_at = UnicodeAttribute()
    expires_at = UnicodeAttribute(null=True)  # ISO seconds
    definition_hash = UnicodeAttribute()
    rail = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    refunded_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class ConsumptionRecord(Row):
    class Meta(TableMeta):
        pass

    client_id = UnicodeAttribute()
    order_ref = UnicodeAttribute()
    holding_id = UnicodeAttribute()
    units = NumberAttribute()
    units_remaining_after = NumberAttribute()
    consumed_at = UnicodeAttribute()
    restored_at = UnicodeAttribute(null=True)


class ServiceClientRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute(default="SERVICECLIENTS")
    gsi1sk = UnicodeAttribute()
    client_id = UnicodeAttribute()
    name = UnicodeAttribute()
    scopes = ListAttribute(of=UnicodeAttribute)
    secret_hashes = ListAttribute(of=UnicodeAttribute)  # the current secret's hash first; two during a rotation
    active = BooleanAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


def entitlement_pk(entitlement_id: str) -> str:
    return f"ENTITLEMENT#{entitlement_id}"


def holding_pk(holding_id: str) -> str:
    return f"HOLDING#{holding_id}"


def holdings_key(account_id: str) -> str:
    return f"ACCOUNT#{account_id}#HOLDINGS"


def consumption_pk(client_id: str, order_ref: str) -> str:
    return f"CONSUMPTION#{client_id}#{order_ref}"


def service_client_pk(client_id: str) -> str:
    return f"SERVICECLIENT#{client_id}"


def get_entitlement(entitlement_id: str) -> EntitlementProductRecord | None:
    try:
        return EntitlementProductRecord.get(entitlement_pk(entitlement_id), PRODUCT_SORT_KEY)
    except EntitlementProductRecord.DoesNotExist:
        return None


def list_entitlements() -> list[EntitlementProductRecord]:
    return list(EntitlementProductRecord.by_kind.query(ENTITLEMENTS_LIST_KEY))


def put_entitlement(product: EntitlementProductRecord, event_type: str, payload: dict[str, Any]) -> None:
    """Write a product and its typed event (PACK_CREATED, PACK_UPDATED, ...) in one transaction."""
    event = new_event(product.pk, event_type, payload)
    with TransactWrite(connection=connection()) as transaction:
        transaction.save(product)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())


def get_holding(holding_id: str) -> HoldingRecord | None:
    try:
        return HoldingRecord.get(holding_pk(holding_id), HOLDING_SORT_KEY, consistent_read=True)
    except HoldingRecord.DoesNotExist:
        return None


def account_holdings(account_id: str, limit: int, cursor: str | None) -> Page:
    """An account's holdings, newest first."""
    return newest_first(HoldingRecord.by_kind, "gsi1pk", holdings_key(account_id), limit, cursor)


def holding_writes(holding: HoldingRecord, event: EventRecord) -> Any:
    """The writes the open transaction makes for a paid entitlement: the holding (only once: its id is the
    opening's) and its PACK_PURCHASED event."""
    def write(transaction: TransactWrite) -> None:
        transaction.save(holding, condition=HoldingRecord.pk.does_not_exist())
        transaction.save(event, condition=EventRecord.pk.does_not_exist())

    return write


def get_consumption(client_id: str, order_ref: str) -> ConsumptionRecord | None:
    try:
        return ConsumptionRecord.get(consumption_pk(client_id, order_ref), CONSUMPTION_SORT_KEY, consistent_read=True)
    except ConsumptionRecord.DoesNotExist:
        return None


class ConsumeFailed(RuntimeError):
    """The consumption's transaction was cancelled (a condition no longer held): read again and say why."""


def consume(holding: HoldingRecord, client_id: str, order_ref: str, units: int, now: str) -> ConsumptionRecord:
    """Take `units` from the holding as it was read, in one transaction: the holding (only from the remaining count
    read, while ACTIVE and unexpired), the consumption row (only if this service never used this order_ref), the
    PACK_CONSUMED event and, when it reaches zero, PACK_EXHAUSTED. ConsumeFailed otherwise."""
    remaining = int(holding.units_remaining) - units
    row = ConsumptionRecord(pk=consumption_pk(client_id, order_ref), sk=CONSUMPTION_SORT_KEY, client_id=client_id,
                            order_ref=order_ref, holding_id=holding.holding_id, units=units,
                            units_remaining_after=remaining, consumed_at=now)
    condition = ((HoldingRecord.units_remaining == int(holding.units_remaining)) & (HoldingRecord.status == "ACTIVE")
                 & (HoldingRecord.expires_at.does_not_exist() | (HoldingRecord.expires_at > now)))
    actions = [HoldingRecord.units_remaining.set(remaining), HoldingRecord.locked_credits_remaining.set(remaining),
               HoldingRecord.updated_at.set(now)]
    if remaining == 0:
        actions.append(HoldingRecord.status.set("EXHAUSTED"))
    events = [new_event(holding.pk, "PACK_CONSUMED", {"units_delta": -units, "locked_credits_delta": -units,
                                                       "units_remaining": remaining, "order_ref": order_ref,
                                                       "service": client_id})]
    if remaining == 0:
        events.append(new_event(holding.pk, "PACK_EXHAUSTED", {"units_remaining": 0, "order_ref": order_ref}))
    _transact(lambda t: (t.update(holding, actions=actions, condition=condition),
                         t.save(row, condition=ConsumptionRecord.pk.does_not_exist()),
                         [t.save(event, condition=EventRecord.pk.does_not_exist()) for event in events]))
    return row


def restore(consumption: ConsumptionRecord, holding: HoldingRecord, now: str) -> None:
    """Give a consumption's units back once (the partner cancelled its order), in one transaction with the holding
    (only while it is not refunded) and the PACK_RESTORED event. ConsumeFailed if restored meanwhile."""
    units = int(consumption.units)
    actions = [HoldingRecord.units_remaining.add(units), HoldingRecord.locked_credits_remaining.add(units),
               HoldingRecord.status.set("ACTIVE"), HoldingRecord.updated_at.set(now)]
    event = new_event(holding.pk, "PACK_RESTORED", {"units_delta": units, "locked_credits_delta": units,
                                                     "order_ref": consumption.order_ref,
                                                     "service": consumption.client_id})
    _transact(lambda t: (t.update(consumption, actions=[ConsumptionRecord.restored_at.set(now)],
                                  condition=ConsumptionRecord.restored_at.does_not_exist()),
                         t.update(holding, actions=actions,
                                  condition=HoldingRecord.status.is_in("ACTIVE", "EXHAUSTED")),
                         t.save(event, condition=EventRecord.pk.does_not_exist())))


def refund_holding(holding_id: str, refund: dict[str, Any]) -> bool:
    """The holding's payment was refunded: REFUNDED, nothing more can be consumed; the units already consumed are
    recorded on the event (no negative balance). False if it was refunded already."""
    holding = get_holding(holding_id)
    if holding is None or holding.status == "REFUNDED":
        return False
    now = utc_now_iso()
    consumed = int(holding.units_included) - int(holding.units_remaining)
    event = new_event(holding.pk, "PACK_REFUNDED", {"units_consumed": consumed,
                                                     "units_voided": int(holding.units_remaining),
                                                     "refund": refund})
    try:
        _transact(lambda t: (t.update(holding, actions=[HoldingRecord.status.set("REFUNDED"),
                                                        HoldingRecord.refunded_at.set(now),
                                                        HoldingRecord.updated_at.set(now),
                                                        HoldingRecord.expiry_shard.remove()],
                                      condition=HoldingRecord.units_remaining == int(holding.units_remaining)),
                             t.save(event, condition=EventRecord.pk.does_not_exist())))
    except ConsumeFailed:
        return refund_holding(holding_id, refund)  # a consumption moved the count meanwhile: read it again
    return True


def due_holdings(shard_key: str, up_to: str, limit: int) -> list[HoldingRecord]:
    """Holdings in one expiry shard whose validity ends at or before `up_to`."""
    rows = HoldingRecord.by_expiry.query(shard_key, HoldingRecord.expires_at <= up_to, limit=limit, page_size=limit)
    return [holding for row in rows if (holding := get_holding(row.pk.removeprefix("HOLDING#"))) is not None]


def expire_holding(holding: HoldingRecord) -> bool:
    """The holding's validity ended: EXPIRED (what is left is void; nothing is deleted) with PACK_EXPIRED, in one
    transaction conditional on the count read. False if it changed meanwhile (the next sweep looks again) or was
    refunded (then it only leaves the index)."""
    now = utc_now_iso()
    if holding.status not in ("ACTIVE", "EXHAUSTED"):
        holding.update(actions=[HoldingRecord.expiry_shard.remove()])
        return False
    event = new_event(holding.pk, "PACK_EXPIRED", {"units_voided": int(holding.units_remaining),
                                                    "expires_at": holding.expires_at})
    try:
        _transact(lambda t: (t.update(holding, actions=[HoldingRecord.status.set("EXPIRED"),
                                                        HoldingRecord.updated_at.set(now),
                                                        HoldingRecord.expiry_shard.remove()],
                                      condition=(HoldingRecord.units_remaining == int(holding.units_remaining))
                                      & HoldingRecord.status.is_in("ACTIVE", "EXHAUSTED")),
                             t.save(event, condition=EventRecord.pk.does_not_exist())))
    except ConsumeFailed:
        return False
    return True


def _transact(writes: Any) -> None:
    try:
        with TransactWrite(connection=connection()) as transaction:
            writes(transaction)
    except TransactWriteError as exc:
        if not is_condition_failure(exc):
            raise
        raise ConsumeFailed(str(exc)) from None


def get_service_client(client_id: str) -> ServiceClientRecord | None:
    try:
        return ServiceClientRecord.get(service_client_pk(client_id), CLIENT_SORT_KEY, consistent_read=True)
    except ServiceClientRecord.DoesNotExist:
        return None


def list_service_clients() -> list[ServiceClientRecord]:
    return list(ServiceClientRecord.by_kind.query("SERVICECLIENTS"))


def put_service_client(client: ServiceClientRecord, event_type: str, payload: dict[str, Any],
                       new: bool = False) -> None:
    event = new_event(client.pk, event_type, payload)
    with TransactWrite(connection=connection()) as transaction:
        transaction.save(client, condition=ServiceClientRecord.pk.does_not_exist() if new else None)
        transaction.save(event, condition=EventRecord.pk.does_not_exist())


register(EntitlementProductRecord, HoldingRecord, ConsumptionRecord, ServiceClientRecord)
