"""Buyer accounts: the principal everything a buyer owns is keyed by, and the identities that sign in to it — a
Solana wallet (Sign-In With Solana, proved at the edge), a passkey (WebAuthn: passkeys, which alone loads the
`webauthn` library) and an email address (one-time codes: email_codes, mail through SES: mail). `principal`
resolves who a sign-in or a token is, links and unlinks identities, and names the wallet a Solana payment comes
from. Partner services are principals too (service_clients: hashed secrets, scopes, rotation, revocation). Proves
identities and answers account ids; tokens are the edge's. May import core and store."""

from __future__ import annotations

__all__ = ["email_codes", "mail", "passkeys", "principal", "service_clients"]
