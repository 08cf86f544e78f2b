"""Solana public keys and signatures as they travel (base58 text of 32 and 64 bytes), and account ids."""

from __future__ import annotations

import base64
import re
import secrets

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


# Accounts (docs/ARCHITECTURE.md, "Accounts"): an account created by a wallet sign-in is named by that wallet's
# address, so every row written before accounts existed still belongs to the same buyer; an account created by a
# passkey or an email is named acct_<24 base32 letters> (120 random bits), which no base58 address can spell
# ('_' is not base58).
_OPAQUE_ACCOUNT_ID = re.compile(r"^acct_[a-z2-7]{24}$")


def is_opaque_account_id(text: str) -> bool:
    return isinstance(text, str) and _OPAQUE_ACCOUNT_ID.match(text) is not None


def is_account_id(text: str) -> bool:
    """A buyer principal: a Solana address (a wallet's own account) or an opaque acct_ id."""
    return is_opaque_account_id(text) or is_public_key(text)


def new_account_id() -> str:
    return "acct_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()
