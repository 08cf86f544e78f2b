"""Platform credits as the buyer sees them: the balance and its ledger entries, and instant buyback.

A credit is a whole unit worth exactly US$0.01. Buyback terms (a share of the item's fmv, and a window after
the opening) are frozen on the opening when it is quoted, so a later catalog change never alters an offer.
Selling back is one transaction (store.sell_back): the item marked sold while still owned and unsold, the
credits posted with the posting id `buyback:<vault item>`, the vault totals reduced, the event appended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.times import iso_seconds, parse_iso
from packvault.sales.openings import OPENING_ID

CREDIT_VALUE_USD = "0.01"


def credits_view(wallet: str, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        page = store.account_entries(store.wallet_account(wallet), limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    return {"wallet": wallet, "balance": store.credit_balance(wallet), "unit": "credit",
            "credit_value_usd": CREDIT_VALUE_USD, "next_cursor": page.cursor,
            "entries": [{"posting_id": row.posting_id, "kind": row.kind, "amount": int(row.amount),
                         "details": row.details, "created_at": row.created_at} for row in page.rows]}


def buyback_offer(wallet: str, opening_id: str, vault_item_id: str, now: datetime | None = None) -> dict[str, Any]:
    """What selling this item back would pay, and until when; `status` says why not when it cannot."""
    opening, item = _owned_item(wallet, opening_id, vault_item_id)
    return _offer(opening, item, now or datetime.now(UTC))


def sell_back(wallet: str, opening_id: str, vault_item_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Sell one vault item back for credits, once. Repeating a completed sale answers with that sale."""
    opening, item = _owned_item(wallet, opening_id, vault_item_id)
    offer = _offer(opening, item, now or datetime.now(UTC))
    if offer["status"] == "sold":
        return _sale(wallet, item, already=True)
    if offer["status"] != "available":
        raise PackvaultError(ErrorCode.BUYBACK_UNAVAILABLE, offer["reason"], status=offer["status"])
    details = {"opening_id": opening.opening_id, "pack_id": opening.pack_id, "item_id": item.item_id,
               "fmv": item.fmv, "rate_bp": int(opening.buyback_bp)}
    fmv_micros = money.to_base_units(item.fmv, money.FMV_DECIMALS)
    if store.sell_back(item, offer["credits"], fmv_micros, details) is None:
        current = store.get_vault_item(wallet, opening.opened_at, vault_item_id)
        if current is not None and current.sold_at is not None:
            return _sale(wallet, current, already=True)  # a concurrent request sold it: the same sale
        raise PackvaultError(ErrorCode.BUYBACK_UNAVAILABLE, "This item can no longer be sold back.",
                             status="revoked" if current is not None and current.revoked_at else "unavailable")
    return _sale(wallet, item, already=False)  # the item as just written: no re-read


def _owned_item(wallet: str, opening_id: str,
                vault_item_id: str) -> tuple[store.OpeningRecord, store.VaultItemRecord]:
    if not OPENING_ID.match(opening_id) or not OPENING_ID.match(vault_item_id):
        raise PackvaultError(ErrorCode.VAULT_ITEM_NOT_FOUND, "Opening and vault item ids are UUIDs.")
    opening = store.get_opening(opening_id)
    if opening is None or opening.wallet != wallet or opening.opened_at is None or not any(
            i["vault_item_id"] == vault_item_id for i in opening.items or []):
        raise PackvaultError(ErrorCode.VAULT_ITEM_NOT_FOUND)
    item = store.get_vault_item(wallet, opening.opened_at, vault_item_id)
    if item is None:
        raise PackvaultError(ErrorCode.VAULT_ITEM_NOT_FOUND)
    return opening, item


def _offer(opening: store.OpeningRecord, item: store.VaultItemRecord, now: datetime) -> dict[str, Any]:
    rate_bp = int(opening.buyback_bp) if opening.buyback_bp is not None else 0
    hours = int(opening.buyback_hours or 0)
    until = iso_seconds(parse_iso(opening.opened_at) + timedelta(hours=hours)) if hours else None
    credits = money.buyback_credits(item.fmv, rate_bp)
    status, reason = "available", None
    if item.sold_at is not None:
        status, reason = "sold", "This item was already sold back."
    elif item.revoked_at is not None:
        status, reason = "revoked", "This item was revoked: its payment was refunded."
    elif rate_bp == 0 or credits == 0:
        status, reason = "unavailable", "This item has no buyback offer."
    elif until is not None and iso_seconds(now) >= until:
        status, reason = "expired", f"The buyback window closed at {until}."
    return {"vault_item_id": item.vault_item_id, "opening_id": opening.opening_id, "item_id": item.item_id,
            "name": item.name, "fmv": item.fmv, "rate": money.from_base_units(rate_bp, 4), "credits": credits,
            "value_usd": money.from_base_units(credits * money.CREDIT_MICROS, money.FMV_DECIMALS),
            "available_until": until, "status": status, **({"reason": reason} if reason else {})}


def _sale(wallet: str, item: store.VaultItemRecord, already: bool) -> dict[str, Any]:
    return {"vault_item_id": item.vault_item_id, "status": "sold", "credits": int(item.sold_credits or 0),
            "sold_at": item.sold_at, "posting_id": f"buyback:{item.vault_item_id}",
            "balance": store.credit_balance(wallet), "already_sold": already}
