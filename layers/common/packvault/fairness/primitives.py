"""Provable fairness: commit-reveal seeds, canonical hashing, and an unbiased integer sampler.

docs/FAIRNESS.md specifies all of this precisely enough to reimplement it; keep the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

FAIRNESS_VERSION = 3  # what a quote made now is drawn and proved under (FAIRNESS.md 13)
DRAW_DOMAIN = "packvault-draw-v1"
BUNDLE_NAMESPACE = uuid.UUID("2b7c1d4e-8f3a-4c6b-9e2d-5a1f0c3b7d91")  # FAIRNESS.md section 12
_SPACE = 1 << 256  # HMAC-SHA256 output read as a big-endian unsigned integer


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (non-ASCII kept as is): the bytes hashes and HMACs are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def new_server_seed() -> str:
    """32 bytes from the OS CSPRNG, as 64 lowercase hex characters."""
    return secrets.token_hex(32)


def commitment(server_seed: str) -> str:
    """sha256 of the seed's 32 bytes (not of its hex text), hex: published before the draw."""
    return hashlib.sha256(bytes.fromhex(server_seed)).hexdigest()


def random_below(server_seed: bytes, context: Sequence[str | int], bound: int) -> int:
    """A uniform integer in [0, bound), from HMAC-SHA256(server_seed, canonical_json([domain, *context, k])).

    Rejection sampling: values at or above the largest multiple of `bound` below 2**256 are discarded and
    k (starting at 0) is incremented, so every result is exactly equally likely. No floating point.
    """
    if not 0 < bound <= _SPACE:
        raise ValueError("bound must be positive and at most 2**256")
    limit = _SPACE - (_SPACE % bound)
    attempt = 0
    while True:
        digest = hmac.digest(server_seed, canonical_json([DRAW_DOMAIN, *context, attempt]), "sha256")
        value = int.from_bytes(digest, "big")
        if value < limit:
            return value % bound
        attempt += 1


def unit_opening_id(bundle_id: str, index: int) -> str:
    """Unit `index` of a bundle (1, 2, ...; the lead, 0, is the bundle's own opening): a UUIDv5 of the bundle id and
    the index, so nobody chooses a unit's draw context after the quote (FAIRNESS.md section 12)."""
    return bundle_id if index == 0 else str(uuid.uuid5(BUNDLE_NAMESPACE, f"{bundle_id}/{index}"))


def effective_client_seed(payment_id: str, quote_seed: str | None, confirm_seed: str | None) -> str:
    """FAIRNESS.md 1.4 (v2): the payment's id always enters; the buyer's seeds, if any, follow it."""
    return ":".join(part for part in (payment_id, quote_seed, confirm_seed) if part)


def client_seed_v3(entropy: str, quote_seed: str | None) -> str:
    """FAIRNESS.md 13.2 (v3): the canonical JSON text of [entropy, purchase seed or null]. Injective, unlike v2's
    `:` join, and with no confirm-time seed, so whoever opens a paid pack (the buyer's confirm, a webhook, the
    sweep) draws exactly the same items."""
    return canonical_json([entropy, quote_seed]).decode("utf-8")


def version_of(record: Any) -> int:
    """The fairness version an opening was quoted under: 3 from FAIRNESS.md 13 on (recorded on the opening), 2 for
    a quote that committed its stock, else 1."""
    if getattr(record, "fairness_version", None) is not None:
        return int(record.fairness_version)
    return 2 if getattr(record, "stock_committed", None) is not None else 1


def draw_client_seed(record: Any, payment_id: str, entropy: str | None, confirm_seed: str | None) -> str | None:
    """The client seed an opening draws with, by its version's rule: v3 the payment's entropy and the purchase seed
    (None without entropy: such a payment cannot open a v3 pack), v2 the payment id and the buyer's seeds."""
    if version_of(record) >= 3:
        return None if not entropy else client_seed_v3(entropy, record.client_seed)
    return effective_client_seed(payment_id, record.client_seed, confirm_seed)
