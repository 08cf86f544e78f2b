"""Solana public keys and signatures as they travel: base58 text of 32 and 64 bytes."""

from __future__ import annotations

import base58

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def _decoded_length(text: str) -> int | None:
    if not isinstance(text, str) or not text or len(text) > 100:
        return None
    try:
        return len(base58.b58decode(text))
    except ValueError:
        return None


def is_public_key(text: str) -> bool:
    """True when `text` is base58 of exactly 32 bytes (a Solana address)."""
    return _decoded_length(text) == PUBLIC_KEY_BYTES


def is_signature(text: str) -> bool:
    """True when `text` is base58 of exactly 64 bytes (a transaction signature)."""
    return _decoded_length(text) == SIGNATURE_BYTES


def new_reference() -> str:
    """A fresh Solana Pay `reference`: the public key of a new, discarded ed25519 keypair (base58)."""
    from nacl.signing import SigningKey

    return base58.b58encode(bytes(SigningKey.generate().verify_key)).decode()
