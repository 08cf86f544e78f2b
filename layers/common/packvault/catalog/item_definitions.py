"""Item definitions as a quote commits to them (fairness v2): what each item id delivers (name, nft_id, rarity,
fmv, metadata), as one canonical document and its hash. The catalog loader stores each version immutably under
its hash; an opening delivers the version its quote committed to, whatever the catalog says by then, so a
proof binds the assets, not only their labels."""

from __future__ import annotations

import gzip
import json
from typing import Any

from packvault import store
from packvault.fairness.primitives import canonical_hash

FIELDS = ("item_id", "tier_id", "name", "nft_id", "rarity", "fmv", "metadata")
_VERSIONS: dict[tuple[str, str], list[dict[str, Any]]] = {}
_BY_ID: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def document(items: list[Any]) -> list[dict[str, Any]]:
    """The definitions of a pack's items, in odds-table order (objects with the FIELDS as attributes); an item's
    image is part of what it delivers, so `image_url` is committed too when it has one (absent otherwise: older
    versions hash as they did)."""
    return [{name: getattr(item, name) for name in FIELDS}
            | ({"image_url": item.image_url} if getattr(item, "image_url", None) else {}) for item in items]


def items_hash(definitions: list[dict[str, Any]]) -> str:
    return canonical_hash(definitions)


def listed(pack_id: str, hash_: str | None) -> list[dict[str, Any]] | None:
    """The version with this hash, as its document (immutable: read once per container), or None."""
    if not hash_:
        return None
    key = (pack_id, hash_)
    if key not in _VERSIONS:
        stored = store.item_definitions(pack_id, hash_)
        if stored is None:
            return None
        _VERSIONS[key] = json.loads(gzip.decompress(stored))
    return _VERSIONS[key]


def committed(pack_id: str, hash_: str | None) -> dict[str, dict[str, Any]] | None:
    """item_id -> definition of the version with this hash, or None (built once per container per version)."""
    document = listed(pack_id, hash_)
    if document is None:
        return None
    key = (pack_id, hash_ or "")
    if key not in _BY_ID:
        _BY_ID[key] = {entry["item_id"]: entry for entry in document}
    return _BY_ID[key]
