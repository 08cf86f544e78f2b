"""Access tokens for accounts, and the sign-ins that earn one: Sign-In With Solana (a single-use nonce in a
message the wallet signs), an email one-time code, a passkey (accounts.passkeys, in its own function). A token is a
short-lived JWT whose `sub` is the account id (a wallet's own account is named by its address), with the operator
role when the account has one and `wallet` when the session signed in with a wallet.

The message follows the Sign-In With Solana / EIP-4361 text layout so wallets display it readably.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import base58
import jwt
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import is_account_id, is_public_key, is_signature
from packvault.core.secrets_store import secret
from packvault.core.settings import OPERATOR_ROLE_NAMES, ConfigurationError, Settings, parse_operator_roles
from packvault.core.times import iso_seconds

TOKEN_ISSUER = "packvault"
TOKEN_AUDIENCE = "packvault-api"
TOKEN_ALGORITHM = "HS256"
STATEMENT = "Sign in to Packvault. This request costs nothing and moves no funds."
MAX_MESSAGE_LENGTH = 2000
_NONCE_LINE = re.compile(r"^Nonce: ([A-Za-z0-9]{16,64})$", re.M)



def sign_in_message(settings: Settings, wallet: str, nonce: str, issued_at: datetime, expires_at: datetime) -> str:
    return (
        f"{settings.auth_domain} wants you to sign in with your Solana account:\n"
        f"{wallet}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: https://{settings.auth_domain}\n"
        f"Version: 1\n"
        f"Chain ID: {settings.solana_cluster}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {iso_seconds(issued_at)}\n"
        f"Expiration Time: {iso_seconds(expires_at)}"
    )


def create_nonce(settings: Settings, wallet: Any) -> dict[str, str]:
    if not isinstance(wallet, str) or not is_public_key(wallet):
        raise PackvaultError(ErrorCode.INVALID_WALLET)
    nonce = secrets.token_hex(16)
    issued_at = datetime.now(UTC).replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=settings.auth_nonce_ttl_seconds)
    message = sign_in_message(settings, wallet, nonce, issued_at, expires_at)
    from packvault import store  # here, not at import: the authorizer verifies tokens without DynamoDB

    store.put_nonce(nonce, wallet, message, iso_seconds(issued_at), iso_seconds(expires_at))
    return {"wallet": wallet, "nonce": nonce, "message": message, "issued_at": iso_seconds(issued_at),
            "expires_at": iso_seconds(expires_at)}


def verify_sign_in(settings: Settings, wallet: Any, message: Any, signature: Any) -> dict[str, Any]:
    """Check the wallet's signature, consume the nonce once, and issue an access token for the wallet's account."""
    from packvault.accounts.principal import account_for_wallet

    proved = prove_wallet(wallet, message, signature)
    return issue_token(settings, account_for_wallet(proved), wallet=proved)


def prove_wallet(wallet: Any, message: Any, signature: Any) -> str:
    """The wallet, once its signature over a nonce message issued here is checked and the nonce used up."""
    if not isinstance(wallet, str) or not is_public_key(wallet):
        raise PackvaultError(ErrorCode.INVALID_WALLET)
    if not isinstance(signature, str) or not is_signature(signature):
        raise PackvaultError(ErrorCode.INVALID_SIGNATURE)
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_LENGTH or not (found := _NONCE_LINE.search(message)):
        raise PackvaultError(ErrorCode.INVALID_MESSAGE)
    if not signed_by(wallet, message, signature):
        raise PackvaultError(ErrorCode.SIGNATURE_MISMATCH)
    from packvault import store

    store.consume_nonce(found.group(1), wallet, message, iso_seconds(datetime.now(UTC)))
    return wallet


def start_email_sign_in(settings: Settings, email: Any) -> dict[str, Any]:
    """Send a code to the address (at most EMAIL_CODES_PER_MINUTE per address, besides the per-IP limit)."""
    from packvault.accounts import email_codes
    from packvault.edge import ratelimit

    address = email_codes.normalise(email)
    ratelimit.enforce(settings, "email-address", hashlib.sha256(address.encode()).hexdigest()[:40])
    return email_codes.start(settings, address)


def prove_email(settings: Settings, email: Any, code: Any) -> str:
    from packvault.accounts import email_codes

    address = email_codes.normalise(email)
    email_codes.check_code(settings, address, code)
    return address


def verify_email_sign_in(settings: Settings, email: Any, code: Any) -> dict[str, Any]:
    """A token for the account the address belongs to (a new account for a new address)."""
    from packvault.accounts import email_codes

    return issue_token(settings, email_codes.account_for_email(prove_email(settings, email, code)))


def signed_by(wallet: str, message: str, signature: str) -> bool:
    try:
        VerifyKey(base58.b58decode(wallet)).verify(message.encode("utf-8"), base58.b58decode(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


def issue_token(settings: Settings, account_id: str, wallet: str | None = None) -> dict[str, Any]:
    """A token for the account; `wallet` when the session signed in with that wallet (a Solana payment defaults
    to it)."""
    now = int(time.time())
    expires = now + settings.auth_token_ttl_seconds
    claims = {"sub": account_id, "iss": TOKEN_ISSUER, "aud": token_audience(settings), "stage": settings.stage,
              "iat": now, "nbf": now, "exp": expires, "jti": secrets.token_hex(8)}
    if wallet is not None:
        claims["wallet"] = wallet
    role = operator_role(settings, account_id)
    if role is not None:
        claims["role"] = role
    token = jwt.encode(claims, signing_key(settings), algorithm=TOKEN_ALGORITHM)
    answer = {"token": token, "token_type": "Bearer", "account_id": account_id, "wallet": wallet,
              "expires_at": iso_seconds(datetime.fromtimestamp(expires, UTC)),
              "expires_in": settings.auth_token_ttl_seconds}
    return {**answer, "role": role} if role is not None else answer


SERVICE_TOKEN_TTL_SECONDS = 300


def service_token(settings: Settings, client_id: str, scopes: list[str]) -> dict[str, Any]:
    """An OAuth 2.0 access token (RFC 6749 §5.1) for a partner service: `sub` the client id, `kind` service,
    `scope` space-separated, five minutes."""
    now = int(time.time())
    claims = {"sub": client_id, "kind": "service", "scope": " ".join(scopes), "iss": TOKEN_ISSUER,
              "aud": token_audience(settings), "stage": settings.stage, "iat": now, "nbf": now,
              "exp": now + SERVICE_TOKEN_TTL_SECONDS, "jti": secrets.token_hex(8)}
    return {"access_token": jwt.encode(claims, signing_key(settings), algorithm=TOKEN_ALGORITHM),
            "token_type": "Bearer", "expires_in": SERVICE_TOKEN_TTL_SECONDS, "scope": " ".join(scopes)}


def token_audience(settings: Settings) -> str:
    """The API of one stage: a token made for dev is refused by staging and prod (and back), even were a key shared."""
    return f"{TOKEN_AUDIENCE}:{settings.stage}"


def operator_role(settings: Settings, account_id: str) -> str | None:
    """The operator role configured for this account (OPERATOR_ROLES, or the SSM parameter OPERATOR_ROLES_PARAMETER
    names) by its id, one of its wallets or email:<its address>; None for a buyer. The account's identities are
    read only when roles exist and its id names none."""
    text = settings.operator_roles
    if text is None and settings.operator_roles_parameter:
        text = secret(None, settings.operator_roles_parameter)
        try:
            parse_operator_roles(text or "")
        except ValueError as exc:
            raise ConfigurationError(f"OPERATOR_ROLES_PARAMETER: {exc}") from None
    roles = parse_operator_roles(text or "")
    if not roles or account_id in roles:
        return roles.get(account_id)
    from packvault.accounts.principal import identities, operator_keys

    found = [roles[key] for key in operator_keys(account_id, identities(account_id)) if key in roles]
    return "admin" if "admin" in found else (found[0] if found else None)


def read_token(settings: Settings, token: str) -> dict[str, Any]:
    """The claims of a valid token; PackvaultError TOKEN_EXPIRED or TOKEN_INVALID otherwise."""
    try:
        claims = jwt.decode(token, signing_key(settings), algorithms=[TOKEN_ALGORITHM],
                            audience=token_audience(settings), issuer=TOKEN_ISSUER,
                            options={"require": ["sub", "exp", "iat", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise PackvaultError(ErrorCode.TOKEN_EXPIRED) from None
    except jwt.PyJWTError:
        raise PackvaultError(ErrorCode.TOKEN_INVALID) from None
    if claims.get("kind") == "service":
        if not _SERVICE_ID.match(str(claims["sub"])) or not isinstance(claims.get("scope"), str) or "role" in claims:
            raise PackvaultError(ErrorCode.TOKEN_INVALID)
        return claims
    if (not isinstance(claims["sub"], str) or not is_account_id(claims["sub"]) or "kind" in claims
            or claims.get("role", "admin") not in OPERATOR_ROLE_NAMES
            or not (claims.get("wallet") is None or is_public_key(claims["wallet"]))):
        raise PackvaultError(ErrorCode.TOKEN_INVALID)
    return claims


_SERVICE_ID = re.compile(r"^svc_[a-z2-7]{20}$")


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PackvaultError(ErrorCode.AUTH_REQUIRED)
    return token.strip()


def signing_key(settings: Settings) -> str:
    """JWT_SIGNING_KEY, or the SSM SecureString named by JWT_SIGNING_KEY_PARAMETER (read once)."""
    key = secret(settings.jwt_signing_key, settings.jwt_signing_key_parameter)
    if key is not None:
        if len(key) < 32:
            raise ConfigurationError("JWT_SIGNING_KEY_PARAMETER: the parameter holds fewer than 32 characters")
        return key
    raise ConfigurationError("JWT_SIGNING_KEY or JWT_SIGNING_KEY_PARAMETER must be set to sign access tokens")
