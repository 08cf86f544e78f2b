"""Email one-time codes: six digits by email, stored only as a keyed hash, used once, for ten minutes, at most five
guesses each; the newest code sent to an address is the only one that works. Starting answers the same whether
or not the address has an account (no enumeration): an address with none gets one when its code is verified."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.accounts import mail
from packvault.accounts.principal import require_open
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import new_account_id
from packvault.core.secrets_store import secret
from packvault.core.settings import ConfigurationError, Settings
from packvault.core.times import iso_millis

CODE_DIGITS = 6
MAX_ATTEMPTS = 5
MAX_EMAIL_LENGTH = 254
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s\"<>(),;:\\\[\]]{{1,64}}@{_LABEL}(\.{_LABEL})+$")
_CODE = re.compile(r"^[0-9]{6}$")


def normalise(value: Any) -> str:
    """The address as it is stored and compared: trimmed and lower-cased (providers treat local parts
    case-insensitively in practice); INVALID_EMAIL for anything that is not one address."""
    if not isinstance(value, str):
        raise PackvaultError(ErrorCode.INVALID_EMAIL)
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise PackvaultError(ErrorCode.INVALID_EMAIL)
    return email


def start(settings: Settings, email: str) -> dict[str, Any]:
    """Send a fresh code to the (normalised) address; the answer never says whether it has an account."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=settings.email_code_ttl_seconds)
    store.put_email_code(email, _hash(settings, email, code), iso_millis(now), iso_millis(expires))
    minutes = settings.email_code_ttl_seconds // 60
    mail.send(settings, email, f"Your Packvault sign-in code: {code}",
              f"Your Packvault sign-in code is {code}.\n\nIt works once, for {minutes} minutes. If you did not ask "
              "for it, ignore this email: nobody can sign in without the code.\n")
    return {"status": "sent", "email": email, "expires_in": settings.email_code_ttl_seconds,
            "message": f"If the address can receive mail, a {CODE_DIGITS}-digit code is on its way."}


def check_code(settings: Settings, email: str, code: Any) -> None:
    """Use the address's newest code up if `code` is it; CODE_INCORRECT or CODE_ATTEMPTS_EXHAUSTED otherwise.
    Every guess counts, by one conditional write on the code as it was read, so concurrent guesses cannot share
    an attempt."""
    if not isinstance(code, str) or not _CODE.match(code.strip()):
        raise PackvaultError(ErrorCode.INVALID_CODE)
    guess = _hash(settings, email, code.strip())
    for _ in range(5):
        row = store.get_email_code(email)
        now = iso_millis(datetime.now(UTC))
        if row is None or row.consumed_at is not None or row.expires_at <= now:
            raise PackvaultError(ErrorCode.CODE_INCORRECT)
        if int(row.attempts) >= MAX_ATTEMPTS:
            raise PackvaultError(ErrorCode.CODE_ATTEMPTS_EXHAUSTED)
        correct = hmac.compare_digest(guess, row.code_hash)
        if store.spend_code_attempt(row, correct, now):
            if correct:
                return
            raise PackvaultError(ErrorCode.CODE_INCORRECT, attempts_left=MAX_ATTEMPTS - int(row.attempts) - 1)
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def account_for_email(email: str) -> str:
    """The account a verified address signs in to: the one it belongs to, or a new one."""
    for _ in range(2):
        identity = store.get_identity("email", email)
        if identity is not None:
            require_open(identity.account_id)
            return identity.account_id
        account_id = new_account_id()
        try:
            store.create_account(account_id, store.new_identity(account_id, "email", email))
            return account_id
        except store.IdentityTaken:
            continue
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def _hash(settings: Settings, email: str, code: str) -> str:
    key = secret(settings.jwt_signing_key, settings.jwt_signing_key_parameter)
    if key is None:
        raise ConfigurationError("JWT_SIGNING_KEY or JWT_SIGNING_KEY_PARAMETER must be set (it keys code hashes)")
    derived = hmac.new(key.encode(), b"packvault email sign-in codes", hashlib.sha256).digest()
    return hmac.new(derived, f"{email}\n{code}".encode(), hashlib.sha256).hexdigest()
