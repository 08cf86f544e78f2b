"""The signed-in account's identities over HTTP: list them, link one by completing that identity's own proof (a
wallet's signed sign-in message, an email's code; a passkey's ceremony is in the passkey function), unlink one."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from packvault import store
from packvault.accounts import principal
from packvault.edge import auth


def list_identities(account_id: str) -> dict[str, Any]:
    return principal.identities_view(account_id)


def link_wallet(account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """{wallet, message, signature}: a sign-in message from POST /api/v1/auth/nonce, signed by the wallet."""
    wallet = auth.prove_wallet(body.get("wallet"), body.get("message"), body.get("signature"))
    return principal.link(account_id, store.new_identity(account_id, "wallet", wallet))


def link_email(settings: Any, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """{email, code}: a code from POST /api/v1/auth/email/start."""
    email = auth.prove_email(settings, body.get("email"), body.get("code"))
    return principal.link(account_id, store.new_identity(account_id, "email", email))


def notification_preferences(account_id: str) -> dict[str, Any]:
    """Receipts go to the account's verified email address (an email identity), unless turned off."""
    emails = [row.value for row in principal.identities(account_id) if row.kind == "email"]
    return {"email_receipts": store.email_receipts_wanted(account_id), "email": emails[0] if emails else None}


def set_notification_preferences(account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    wanted = body.get("email_receipts")
    if not isinstance(wanted, bool):
        from packvault.core.errors import ErrorCode, PackvaultError

        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "email_receipts: true or false.", field="email_receipts")
    store.set_email_receipts(account_id, wanted)
    return notification_preferences(account_id)


def unlink(account_id: str, kind: str, identity_id: str) -> dict[str, Any]:
    value = unquote(identity_id)
    return principal.unlink(account_id, kind, value.strip().lower() if kind == "email" else value)
