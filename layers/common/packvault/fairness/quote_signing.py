"""Signed quotes (fairness v2, FAIRNESS.md section 1): the quote's commitment as one canonical document, its
hash (also carried on chain in the payment's memo) and an Ed25519 signature the buyer keeps. A server that later
rewrote the opening's row could publish another seed with a matching hash, but not under the commitment the
buyer holds, signed with the published key, and named on chain.

The key: QUOTE_SIGNING_KEY (64 hex characters: an Ed25519 seed; local use) or the SSM SecureString that
QUOTE_SIGNING_KEY_PARAMETER names. Without one, quotes carry the commitment and its hash but no signature.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import base58

from packvault.core.settlement import OPEN_PAYMENTS, SOLANA, STRIPE
from packvault.fairness.primitives import canonical_hash, canonical_json, version_of

ALGORITHM = "Ed25519"
COMMITTED_FIELDS = ("opening_id", "pack_id", "wallet", "currency", "amount_base_units", "quote_expires_at",
                    "server_seed_hash", "odds_version", "odds_hash", "stock_committed", "items_hash", "client_seed")


# FAIRNESS.md 13.1: per rail, the value the draw mixes in, created after the commitment by someone other than us.
ENTROPY_SOURCES = {SOLANA: "solana_transaction_signature", STRIPE: "stripe_payment_intent",
                   OPEN_PAYMENTS: "open_payments_interact_ref"}


def commitment(record: Any) -> dict[str, Any]:
    """What a v2 or v3 quote commits to, from the opening's fields; a bundle's also its quantity and every unit's
    opening id and server seed hash, the lead first (FAIRNESS.md section 12). v3 adds the rail, the source of the
    draw's entropy and the time the quote was made (FAIRNESS.md 13.1)."""
    version = version_of(record)
    document = {"version": version, **{name: _plain(getattr(record, name)) for name in COMMITTED_FIELDS}}
    if version >= 3:
        document |= {"rail": record.rail, "entropy": ENTROPY_SOURCES.get(record.rail), "quoted_at": record.created_at}
    if int(getattr(record, "quantity", None) or 1) > 1:
        document["quantity"] = int(record.quantity)
        document["units"] = [{"opening_id": record.opening_id, "server_seed_hash": record.server_seed_hash}] + [
            {"opening_id": unit["opening_id"], "server_seed_hash": unit["server_seed_hash"]}
            for unit in record.bundle_units]
    return document


def quote_hash(document: dict[str, Any]) -> str:
    return canonical_hash(document)


def signed(document: dict[str, Any]) -> dict[str, Any]:
    """{commitment, quote_hash, quote_signature?, quote_key?} for a quote's answer."""
    answer: dict[str, Any] = {"commitment": document, "quote_hash": quote_hash(document)}
    signature = sign(document)
    if signature is not None:
        answer |= {"quote_signature": signature["signature"], "quote_key": signature["key"]}
    return answer


def signed_commitment(record: Any) -> dict[str, Any]:
    """The quote's signed commitment as the buyer was shown it: the signature made when it was quoted (kept on the
    opening, so a later key rotation does not re-sign it), else signed now (Ed25519 is deterministic)."""
    document = commitment(record)
    if getattr(record, "quote_signature", None) and getattr(record, "quote_key", None):
        return {"commitment": document, "quote_hash": quote_hash(document), "quote_signature": record.quote_signature,
                "quote_key": record.quote_key}
    return signed(document)


def stamp(record: Any) -> None:
    """Sign a new quote's commitment and keep the signature on its opening (before the reservation writes it)."""
    signature = sign(commitment(record))
    if signature is not None:
        record.quote_signature, record.quote_key = signature["signature"], signature["key"]


def sign(document: dict[str, Any]) -> dict[str, str] | None:
    """{signature, key}: the quote key's Ed25519 signature of canonical_json(document), base58; None without a key.
    Quotes and record receipts (FAIRNESS.md 13.5) are signed with it."""
    key = _signing_key()
    if key is None:
        return None
    return {"signature": base58.b58encode(key.sign(canonical_json(document)).signature).decode(),
            "key": base58.b58encode(bytes(key.verify_key)).decode()}


def public_key() -> dict[str, Any]:
    key = _signing_key()
    if key is None:
        return {"algorithm": ALGORITHM, "public_key": None, "signed_quotes": False}
    return {"algorithm": ALGORITHM, "public_key": base58.b58encode(bytes(key.verify_key)).decode(),
            "signed_quotes": True}


def verify(document: dict[str, Any], signature: str, key: str) -> bool:
    """The signature is the key's over canonical_json(document)."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        VerifyKey(base58.b58decode(key)).verify(canonical_json(document), base58.b58decode(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


@cache
def _signing_key() -> Any:
    from nacl.signing import SigningKey

    from packvault.core.secrets_store import secret
    from packvault.core.settings import ConfigurationError, get_settings

    try:
        settings = get_settings()
    except ConfigurationError:  # a process with no environment of its own (a bench, a script): nothing to sign with
        return None
    seed = secret(settings.quote_signing_key, settings.quote_signing_key_parameter)
    if seed is None:
        return None
    try:
        return SigningKey(bytes.fromhex(seed))
    except ValueError:
        raise ConfigurationError("QUOTE_SIGNING_KEY must be 64 hex characters (an Ed25519 seed)") from None


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
