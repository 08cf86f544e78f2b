"""The operators' API: catalog management (create, patch, activate, deactivate), openings, refunds and the
audit trail. Roles: `admin` changes the catalog and marks refunds; `support` reads. The role travels in the
token and is checked again against the configuration on every call, so removing an operator takes effect
without waiting for their token to expire.

Every mutation needs an Idempotency-Key, scoped to (operator wallet, operation). Each mutation is itself
idempotent (loading the same definition again changes nothing; a refund is marked once), so a crash between
the change and remembering the answer is repaired by the client's retry.
"""

from __future__ import annotations

import re
from typing import Any

from packvault import store
from packvault.catalog.loader import CatalogError, load_pack, pack_document, parse_catalog
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import is_account_id, is_public_key, is_signature
from packvault.core.settings import Settings
from packvault.edge import auth
from packvault.fairness import primitives as fairness
from packvault.sales.reservation import check_idempotency_key, check_pack_id

ADMIN, SUPPORT = "admin", "support"
OPENING_STATUSES = ("QUOTED", "OPENED", "EXPIRED", "REFUND_DUE", "REFUNDED")
_OPENING_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_REFUND_REFERENCE = re.compile(r"^[A-Za-z0-9_:.-]{1,200}$")


def authorize(settings: Settings, wallet: str, token_role: str | None, needs: str) -> None:
    """403 unless the token's role is still configured for this wallet and covers `needs`."""
    configured = auth.operator_role(settings, wallet)
    if token_role is None or configured != token_role or (needs == ADMIN and configured != ADMIN):
        raise PackvaultError(ErrorCode.FORBIDDEN, f"This route needs the {needs} role.", role_needed=needs)


# --- catalog -----------------------------------------------------------------------------------------


def list_packs() -> dict[str, Any]:
    return {"packs": [pack_summary(pack) for pack in store.list_packs()]}


def get_pack(pack_id: str) -> dict[str, Any]:
    check_pack_id(pack_id)
    found = pack_document(pack_id)
    if found is None:
        raise PackvaultError(ErrorCode.PACK_NOT_FOUND)
    return {"pack": pack_summary(store.get_pack(pack_id)), "definition": found[0]}


def create_pack(wallet: str, body: dict[str, Any], idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    def create() -> tuple[int, dict[str, Any]]:
        definition = _parse(body)
        if store.get_pack(definition.pack_id) is not None:
            raise PackvaultError(ErrorCode.PACK_EXISTS, pack_id=definition.pack_id)
        return 201, _load(definition, None)

    return _once(wallet, "admin.pack.create", idempotency_key, body, create)


def patch_pack(wallet: str, pack_id: str, patch: dict[str, Any], idempotency_key: str | None,
               operation: str = "admin.pack.patch", if_match: str | None = None) -> tuple[int, dict[str, Any]]:
    """A JSON Merge Patch (RFC 7396) of the pack's definition: objects merge, anything else (a list of tiers,
    a price) is replaced; null removes. Validated exactly like a catalog file; counters move by delta. `if_match`:
    the definition hash the operator's edit started from (If-Match); if the pack changed since, 409 and nothing."""
    check_pack_id(pack_id)

    def apply() -> tuple[int, dict[str, Any]]:
        found = pack_document(pack_id)
        if found is None:
            raise PackvaultError(ErrorCode.PACK_NOT_FOUND)
        document, definition_hash = found
        if if_match is not None and if_match.strip('"') != definition_hash:
            raise PackvaultError(ErrorCode.CATALOG_CONFLICT, "The pack changed since you read it; read it again "
                                 "and redo your change. Nothing was changed.", definition_hash=definition_hash)
        if "pack_id" in patch and patch["pack_id"] != pack_id:
            raise PackvaultError(ErrorCode.VALIDATION_FAILED, "A pack's id cannot change.", field="pack_id")
        return 200, _load(_parse(_merge_patch(document, patch)), definition_hash)

    return _once(wallet, operation, idempotency_key, {"pack_id": pack_id, "patch": patch}, apply)


def set_pack_status(wallet: str, pack_id: str, status: str, idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    return patch_pack(wallet, pack_id, {"status": status}, idempotency_key, f"admin.pack.{status.lower()}")


def pack_summary(pack: store.PackRecord) -> dict[str, Any]:
    counts = store.supply_counts(pack)  # summed over its shards
    supply = None if counts is None else {"total": counts.total, "available": counts.available,
                                          "reserved": counts.reserved, "sold": counts.sold, "shards": counts.shards}
    # A limited pack counts its openings on its supply rows; an unlimited one has no counter on the open path:
    # its openings are counted when each hour of the public record is sealed (up to ~1 h 5 min behind).
    opened, through = (counts.opened, None) if counts is not None else store.pack_stats(pack.pack_id)
    return {"pack_id": pack.pack_id, "name": pack.name, "status": pack.status, "prices": pack.prices.as_dict(),
            "cards_per_pack": int(pack.cards_per_pack), "supply": supply, "opened_count": opened,
            "opened_count_through": through,
            "max_per_wallet": None if pack.max_per_wallet is None else int(pack.max_per_wallet),
            "odds_version": int(pack.odds_version), "odds_hash": pack.odds_hash,
            "definition_hash": pack.definition_hash, "created_at": pack.created_at, "updated_at": pack.updated_at}


def _parse(pack: dict[str, Any]) -> Any:
    try:
        return parse_catalog({"schema_version": 1, "packs": [pack]})[0]
    except CatalogError as exc:
        raise PackvaultError(ErrorCode.CATALOG_INVALID, problems=exc.problems) from None


def _load(definition: Any, based_on: str | None) -> dict[str, Any]:
    try:
        result = load_pack(definition, based_on)
    except CatalogError as exc:
        raise PackvaultError(ErrorCode.CATALOG_CONFLICT, problems=exc.problems) from None
    return {"action": result.action, "pack": pack_summary(store.get_pack(definition.pack_id))}


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


# --- openings, refunds, events -----------------------------------------------------------------------


def list_openings(pack_id: str | None, status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Newest first within a pack; across packs (no pack_id) pack by pack in id order."""
    if status is not None and status not in OPENING_STATUSES:
        raise PackvaultError(ErrorCode.INVALID_STATUS)
    if pack_id is not None:
        check_pack_id(pack_id)
    pack_ids = [pack_id] if pack_id else sorted({p.pack_id for p in store.list_packs()} |
                                                {b.bundle_id for b in store.list_bundles()})
    start, inner = _read_cursor(cursor, pack_ids)
    rows: list[Any] = []
    for position in range(start, len(pack_ids)):
        page = _page(pack_ids[position], status, limit - len(rows), inner)
        rows += page.rows
        inner = None
        if page.cursor:
            return {"openings": [_opening_summary(r) for r in rows], "cursor": _cursor(pack_ids[position], page.cursor)}
        if len(rows) == limit:
            following = pack_ids[position + 1] if position + 1 < len(pack_ids) else None
            return {"openings": [_opening_summary(r) for r in rows],
                    "cursor": _cursor(following, None) if following else None}
    return {"openings": [_opening_summary(r) for r in rows], "cursor": None}


def _page(pack_id: str, status: str | None, limit: int, cursor: str | None) -> store.Page:
    try:
        return store.pack_openings(pack_id, status, limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None


def _cursor(pack_id: str, inner: str | None) -> str:
    return store.encode_cursor({"pack_id": pack_id, "key": inner}) or ""


def _read_cursor(cursor: str | None, pack_ids: list[str]) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    try:
        decoded = store.read_cursor(cursor)
        position, inner = pack_ids.index(decoded["pack_id"]), decoded["key"]
    except (store.BadCursor, ValueError, KeyError):
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    if inner is not None and not isinstance(inner, str):
        raise PackvaultError(ErrorCode.INVALID_CURSOR)
    return position, inner


def _opening_summary(row: store.OpeningRecord) -> dict[str, Any]:
    return {"opening_id": row.opening_id, "pack_id": row.pack_id, "wallet": row.wallet, "status": row.status,
            "rail": row.rail, "product": row.product, "currency": row.currency,
            "amount": _amount(row.currency, row.amount_base_units), "payment_id": row.payment_id,
            "created_at": row.created_at, "updated_at": row.updated_at, "opened_at": row.opened_at}


def _amount(currency: str, base_units: str) -> str:
    return money.from_base_units(int(base_units), money.currency(currency).decimals)


def list_refunds() -> dict[str, Any]:
    """Pack openings and game-credit orders whose payment must be returned."""
    return {"refunds": [refund_summary(opening) for opening in store.refunds_due()],
            "orders": [order_refund_summary(order) for order in store.orders_refund_due()]}


def order_refund_summary(order: store.OrderRecord) -> dict[str, Any]:
    transaction = order.crypto_transaction or {}
    return {"order_id": order.order_id, "order_number": order.order_number, "wallet": order.wallet,
            "item_id": order.item_id, "payment_id": order.payment_id, "amount": transaction.get("received"),
            "currency": order.currency, "payer": transaction.get("payer"),
            "reason": (order.failure or {}).get("code")}


def refund_summary(opening: store.OpeningRecord) -> dict[str, Any]:
    payment = opening.payment or {}
    return {"opening_id": opening.opening_id, "wallet": opening.wallet, "pack_id": opening.pack_id,
            "rail": opening.rail, "payment_id": opening.payment_id, "tx_signature": opening.tx_signature,
            "amount": payment.get("received"), "currency": payment.get("currency"), "payer": payment.get("payer"),
            "reason": payment.get("refund_reason"), "refund_request": payment.get("refund_request")}


def mark_refunded(wallet: str, opening_id: str, body: dict[str, Any],
                  idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """REFUND_DUE -> REFUNDED with the refund's reference: the refund transaction's signature on the Solana
    rail, the provider's refund id on the others. A game-credit order's id works too (refund_due -> refunded)."""
    if not _OPENING_ID.match(opening_id):
        raise PackvaultError(ErrorCode.INVALID_OPENING_ID)
    reference = body.get("refund_reference")

    def mark() -> tuple[int, dict[str, Any]]:
        opening = store.get_opening(opening_id)
        if opening is None:
            return _mark_order_refunded(wallet, opening_id, reference)
        solana = opening.rail == "solana"
        valid = isinstance(reference, str) and (is_signature(reference) if solana else
                                                bool(_REFUND_REFERENCE.match(reference)))
        if not valid:
            raise PackvaultError(ErrorCode.VALIDATION_FAILED, "refund_reference must be the refund transaction's "
                                 "signature (base58)" if solana else "refund_reference must be the provider's "
                                 "refund id (1-200 letters, digits, '_', ':', '.', '-').", field="refund_reference")
        refund = {"refund_signature": reference} if solana else {"refund_reference": reference}
        if not store.mark_refunded(opening, refund, wallet):
            raise PackvaultError(ErrorCode.REFUND_NOT_DUE, status=opening.status)
        return 200, {"opening_id": opening_id, "status": "REFUNDED", "refund": refund}

    return _once(wallet, "admin.refund.mark", idempotency_key, {"opening_id": opening_id, **body}, mark)


def _mark_order_refunded(wallet: str, order_id: str, reference: Any) -> tuple[int, dict[str, Any]]:
    order = store.get_order(order_id)
    if order is None:
        raise PackvaultError(ErrorCode.OPENING_NOT_FOUND, "No opening or order has this id.")
    if not (isinstance(reference, str) and is_signature(reference)):
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "refund_reference must be the refund transaction's "
                             "signature (base58)", field="refund_reference")
    refund = {"refund_signature": reference}
    if not store.mark_order_refunded(order, refund, wallet):
        raise PackvaultError(ErrorCode.REFUND_NOT_DUE, status=order.status)
    return 200, {"order_id": order_id, "status": "refunded", "refund": refund}


def list_webhook_endpoints() -> dict[str, Any]:
    from packvault.notifications import endpoints

    return {"webhook_endpoints": [endpoints.view(e) for e in store.list_endpoints()]}


def webhook_endpoint_change(settings: Settings, operator: str, action: str, endpoint_id: str | None,
                            notification_id: str | None, body: dict[str, Any],
                            idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """create (201, with the signing secret: shown in this answer only) | enable | disable | replay a delivery."""
    from packvault.notifications import delivery, endpoints

    if action == "create":
        return _once(operator, "admin.webhook_endpoint.create", idempotency_key, body,
                     lambda: (201, endpoints.create(settings, body.get("url"), body.get("event_types"))))
    if endpoint_id is None or not re.fullmatch(r"we_[0-9a-f]{20}", endpoint_id):
        raise PackvaultError(ErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND)
    if action in ("enable", "disable"):
        return _once(operator, f"admin.webhook_endpoint.{action}", idempotency_key, {"endpoint_id": endpoint_id},
                     lambda: (200, endpoints.set_active(endpoint_id, action == "enable", body.get("reason"))))
    if action == "replay" and notification_id and re.fullmatch(r"evt_[0-9a-f]{26}", notification_id):
        return _once(operator, "admin.delivery.replay", idempotency_key, {"delivery": notification_id},
                     lambda: (200, delivery.replay(f"{endpoint_id}#{notification_id}", settings)))
    raise PackvaultError(ErrorCode.ROUTE_NOT_FOUND)


def endpoint_deliveries(endpoint_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    from packvault.notifications import delivery

    try:
        page = store.receiver_deliveries(endpoint_id, limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    return {"endpoint_id": endpoint_id, "deliveries": [delivery.view(row) for row in page.rows],
            "cursor": page.cursor}


def list_service_clients() -> dict[str, Any]:
    from packvault.accounts import service_clients

    return {"service_clients": [service_clients.view(c) for c in store.list_service_clients()]}


def service_client_change(operator: str, action: str, client_id: str | None, body: dict[str, Any],
                          idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """create (201, with the secret: a retry with the same Idempotency-Key answers the same secret once more, to the
    same operator) | rotate (with the new secret) | finish-rotation | revoke."""
    from packvault.accounts import service_clients

    actions = {"rotate": service_clients.rotate, "finish-rotation": service_clients.finish_rotation,
               "revoke": service_clients.revoke}
    if action == "create":
        return _once(operator, "admin.service_client.create", idempotency_key, body,
                     lambda: (201, service_clients.create(body.get("name"), body.get("scopes"))))
    if action not in actions or client_id is None:
        raise PackvaultError(ErrorCode.ROUTE_NOT_FOUND)
    return _once(operator, f"admin.service_client.{action}", idempotency_key, {"client_id": client_id},
                 lambda: (200, actions[action](client_id)))


def put_entitlement(operator: str, entitlement_id: str, body: dict[str, Any],
                    idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """Create or replace an entitlement product from a catalog-file definition (same schema and money rules); the
    typed event says what changed. 201 created, 200 updated or unchanged."""
    from packvault.catalog import entitlements

    check_pack_id(entitlement_id)

    def put() -> tuple[int, dict[str, Any]]:
        definition = entitlements.check_definition({**body, "entitlement_id": entitlement_id})
        action = entitlements.put_definition(definition)
        product = store.get_entitlement(entitlement_id)
        return (201 if action == "created" else 200), {"action": action,
                                                        "entitlement": entitlements.product_view(product)}

    return _once(operator, "admin.entitlement.put", idempotency_key, {"entitlement_id": entitlement_id, **body}, put)


def close_account(operator: str, account_id: str, body: dict[str, Any],
                  idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """Close a buyer account: its tokens stop working and its identities cannot sign in; everything it bought
    stays (openings, vault, ledger), and so do its identity rows (an identity never moves to another account)."""
    from packvault.accounts import principal

    def close() -> tuple[int, dict[str, Any]]:
        return 200, principal.close(account_id, body.get("reason"))

    return _once(operator, "admin.account.close", idempotency_key, {"account_id": account_id, **body}, close)


def events(entity: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """The audit trail of a pack, an opening or a wallet, oldest first."""
    partitions = _entity_partitions(entity or "")
    after = _read_event_cursor(cursor)
    rows = store.events_after(partitions, after, limit)
    return {"entity": entity, "events": [_event(row) for row in rows],
            "cursor": _event_cursor(rows[-1].sk) if len(rows) == limit else None}


def _entity_partitions(entity: str) -> list[str]:
    kind, _, key = entity.partition(":")
    if kind == "pack" and key and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return [store.pack_pk(key), store.bundle_pk(key)]
    if kind == "opening" and _OPENING_ID.match(key):
        return [store.opening_pk(key)]
    if kind == "order" and _OPENING_ID.match(key):
        return [store.order_pk(key)]
    if kind == "wallet" and is_public_key(key):
        return [store.wallet_pk(key), store.balance_pk(key), store.seeds_pk(key), store.account_pk(key)]
    if kind == "holding" and _OPENING_ID.match(key):
        return [store.holding_pk(key)]
    if kind == "entitlement" and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return [store.entitlement_pk(key)]
    if kind == "service" and re.fullmatch(r"svc_[a-z2-7]{20}", key):
        return [store.service_client_pk(key)]
    if kind == "account" and is_account_id(key):
        return [store.account_pk(key), store.wallet_pk(key), store.balance_pk(key), store.seeds_pk(key)]
    raise PackvaultError(ErrorCode.INVALID_ENTITY)


def _event(row: store.EventRecord) -> dict[str, Any]:
    return {"event_type": row.event_type, "at": row.created_at, "actor": row.actor, "request_id": row.request_id,
            "payload": row.payload}


def _event_cursor(sort_key: str) -> str:
    return store.encode_cursor({"after": sort_key}) or ""


def _read_event_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        sort_key = store.read_cursor(cursor)["after"]
    except (store.BadCursor, KeyError):
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    if not isinstance(sort_key, str) or not sort_key.startswith(store.EVENT_PREFIX):
        raise PackvaultError(ErrorCode.INVALID_CURSOR)
    return sort_key


# --- idempotency -------------------------------------------------------------------------------------


def _once(wallet: str, operation: str, idempotency_key: str | None, request: dict[str, Any],
          act: Any) -> tuple[int, dict[str, Any]]:
    """Run an idempotent mutation once per (operator, operation, Idempotency-Key); a retry gets the answer."""
    if idempotency_key is None:
        raise PackvaultError(ErrorCode.IDEMPOTENCY_KEY_REQUIRED)
    check_idempotency_key(idempotency_key)
    request_hash = fairness.canonical_hash(request)
    remembered = store.get_idempotency(wallet, operation, idempotency_key)
    if remembered is not None:
        if remembered.request_hash != request_hash:
            raise PackvaultError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
        return int(remembered.status_code), remembered.response
    status, answer = act()
    store.new_idempotency(wallet, operation, idempotency_key, request_hash, status, answer).save()
    return status, answer
