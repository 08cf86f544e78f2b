"""The buyer's vault: the items their openings revealed, newest first, with their total fair value.

An item whose payment was refunded stays listed, marked `revoked`; one sold back for credits stays listed,
marked `sold_back`; neither is counted in the totals any more."""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError


def definition_hash(row: Any) -> str:
    """The hash of what this vault item is, in the item definitions' own shape (FAIRNESS.md 1.5): the same hash as
    the committed definition it was delivered from, unless the row was changed since."""
    from packvault.catalog.item_definitions import document, items_hash

    return items_hash(document([row]))


def list_vault(wallet: str, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        page = store.wallet_vault(wallet, limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    count, fmv_micros = store.vault_total(wallet)
    return {
        "items": [vault_item_view(row) for row in page.rows],
        "next_cursor": page.cursor,
        "item_count": count,
        "total_fmv": money.from_base_units(fmv_micros, money.FMV_DECIMALS),
    }


def vault_item_view(row: store.VaultItemRecord) -> dict[str, Any]:
    return {
        "vault_item_id": row.vault_item_id,
        "nft_id": row.nft_id,
        "name": row.name,
        "rarity": row.rarity,
        "tier_id": row.tier_id,
        "fmv": row.fmv,
        "metadata": row.metadata,
        "image_url": row.image_url,
        "definition_hash": definition_hash(row),
        "item_id": row.item_id,
        "pack_id": row.pack_id,
        "opening_id": row.opening_id,
        "created_at": row.created_at,
        "revoked": row.revoked_at is not None,
        "revoked_at": row.revoked_at,
        "sold_back": row.sold_at is not None,
        "sold_at": row.sold_at,
        "sold_credits": int(row.sold_credits) if row.sold_credits is not None else None,
    }
