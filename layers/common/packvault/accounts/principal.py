"""Who is acting: the account behind a wallet sign-in (created on first use, named by the wallet's address), the
check every authenticated request makes that its account is still open, the account's identities, linking and
unlinking them, and the Solana wallet a payment of the account comes from."""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import is_account_id, is_public_key


def account_for_wallet(wallet: str) -> str:
    """The account a verified wallet signs in to: the one it is linked to, or else its own (created now, named by
    its address, so that everything the wallet bought before accounts existed stays its own)."""
    for _ in range(2):
        identity = store.get_identity("wallet", wallet)
        if identity is not None:
            require_open(identity.account_id)
            return identity.account_id
        try:
            store.create_account(wallet, store.new_identity(wallet, "wallet", wallet))
            return wallet
        except store.IdentityTaken:
            continue  # a concurrent sign-in (or a link) wrote it first: read it
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def require_open(account_id: str) -> None:
    """ACCOUNT_CLOSED for a closed account, TOKEN_INVALID for one that does not exist. A wallet's own account that
    has no row yet (its buyer last signed in before accounts existed) is open."""
    if not is_account_id(account_id):
        raise PackvaultError(ErrorCode.TOKEN_INVALID)
    account = store.get_account(account_id)
    if account is None:
        if is_public_key(account_id) and store.get_identity("wallet", account_id) is None:
            return
        raise PackvaultError(ErrorCode.TOKEN_INVALID, "The account of this token no longer exists; sign in again.")
    if account.status != store.ACTIVE:
        raise PackvaultError(ErrorCode.ACCOUNT_CLOSED)


def identities(account_id: str) -> list[store.IdentityRecord]:
    found = store.account_identities(account_id)
    if not found and is_public_key(account_id) and store.get_account(account_id) is None:
        return [store.new_identity(account_id, "wallet", account_id)]  # not written: its first sign-in writes it
    return found


def identities_view(account_id: str) -> dict[str, Any]:
    return {"account_id": account_id, "identities": [identity_view(row) for row in identities(account_id)]}


def identity_view(row: store.IdentityRecord) -> dict[str, Any]:
    view: dict[str, Any] = {"kind": row.kind, "id": row.value, "linked_at": row.linked_at}
    if row.kind == "passkey":
        view.update(last_used_at=row.last_used_at, transports=row.transports or [], backed_up=row.backed_up)
    return view


def operator_keys(account_id: str, rows: list[store.IdentityRecord]) -> list[str]:
    """The names OPERATOR_ROLES may give an operator by: the account id, its wallets, `email:<address>`."""
    keys = [account_id]
    for row in rows:
        if row.kind == "wallet":
            keys.append(row.value)
        elif row.kind == "email":
            keys.append(f"email:{row.value}")
    return keys


def link(account_id: str, identity: store.IdentityRecord) -> dict[str, Any]:
    """Link a proved identity to the signed-in account. Linking it again to the same account changes nothing;
    one that belongs to another account is refused (409 IDENTITY_TAKEN), never merged."""
    if is_public_key(account_id) and store.get_account(account_id) is None:
        account_for_wallet(account_id)  # a wallet's implicit account (it bought before accounts existed): made now
    if identity.kind == "wallet" and identity.value != account_id and _wallet_is_own_account(identity.value):
        raise PackvaultError(ErrorCode.IDENTITY_TAKEN, "This wallet has its own account (it bought here before): "
                             "sign in with the wallet and link the other identity there instead.")
    try:
        store.link_identity(account_id, identity)
    except store.IdentityTaken:
        existing = store.get_identity(identity.kind, identity.value)
        if existing is None or existing.account_id != account_id:
            raise PackvaultError(ErrorCode.IDENTITY_TAKEN) from None
    return identities_view(account_id)


def _wallet_is_own_account(wallet: str) -> bool:
    return store.get_account(wallet) is not None or store.has_buyer_history(wallet)


def unlink(account_id: str, kind: str, value: str) -> dict[str, Any]:
    if kind not in store.IDENTITY_KINDS or not value or len(value) > 400:
        raise PackvaultError(ErrorCode.IDENTITY_NOT_FOUND)
    store.unlink_identity(account_id, kind, value)
    return identities_view(account_id)


def payer_wallet(account_id: str, named: Any, signed_in_wallet: str | None) -> str:
    """The Solana wallet a payment of this account must come from: `payer_wallet` when the request names one (it
    must be linked), else the wallet the session signed in with, else the account's only wallet."""
    if named is not None:
        if not isinstance(named, str) or not is_public_key(named):
            raise PackvaultError(ErrorCode.INVALID_WALLET)
        if named != account_id and not _linked(account_id, named):
            raise PackvaultError(ErrorCode.PAYER_WALLET_NOT_LINKED)
        return named
    if signed_in_wallet and (signed_in_wallet == account_id or _linked(account_id, signed_in_wallet)):
        return signed_in_wallet
    if is_public_key(account_id):
        return account_id
    wallets = [row.value for row in store.account_identities(account_id) if row.kind == "wallet"]
    if not wallets:
        raise PackvaultError(ErrorCode.WALLET_REQUIRED)
    if len(wallets) > 1:
        raise PackvaultError(ErrorCode.PAYER_WALLET_REQUIRED, wallets=sorted(wallets))
    return wallets[0]


def _linked(account_id: str, wallet: str) -> bool:
    identity = store.get_identity("wallet", wallet)
    return identity is not None and identity.account_id == account_id


def close(account_id: str, reason: Any) -> dict[str, Any]:
    if not is_account_id(account_id):
        raise PackvaultError(ErrorCode.INVALID_ACCOUNT_ID)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "reason: say why the account is closed (1-500 characters).")
    account = store.close_account(account_id, reason.strip())
    return {"account_id": account.account_id, "status": account.status, "closed_at": account.closed_at,
            "closed_reason": account.closed_reason}
