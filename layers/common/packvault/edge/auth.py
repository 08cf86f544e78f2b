"""Sign-In With Solana: a single-use nonce in a message the wallet signs, then a short-lived JWT.

The message follows the Sign-In With Solana / EIP-4361 text layout so wallets display it readably.
"""

from __future__ import annotations

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
from packvault.core.keys import is_public_key, is_signature
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
    """Check the wallet's signature, consume the nonce once, and issue an access token."""
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
    return issue_token(settings, wallet)


def signed_by(wallet: str, message: str, signature: str) -> bool:
    try:
        VerifyKey(base58.b58decode(wallet)).verify(message.encode("utf-8"), base58.b58decode(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


def issue_token(settings: Settings, wallet: str) -> dict[str, Any]:
    now = int(time.time())
    expires = now + settings.auth_token_ttl_seconds
    claims = {"sub": wallet, "iss": TOKEN_ISSUER, "aud": token_audience(settings), "stage": settings.stage,
              "iat": now, "nbf": now, "exp": expires, "jti": secrets.token_hex(8)}
    role = operator_role(settings, wallet)
    if role is not None:
        claims["role"] = role
    token = jwt.encode(claims, signing_key(settings), algorithm=TOKEN_ALGORITHM)
    answer = {"token": token, "token_type": "Bearer", "wallet": wallet,
              "expires_at": iso_seconds(datetime.fromtimestamp(expires, UTC)),
              "expires_in": settings.auth_token_ttl_seconds}
    return {**answer, "role": role} if role is not None else answer


def token_audience(settings: Settings) -> str:
    """The API of one stage: a token made for dev is refused by staging and prod (and back), even were a key shared."""
    return f"{TOKEN_AUDIENCE}:{settings.stage}"


def operator_role(settings: Settings, wallet: str) -> str | None:
    """The operator role configured for this wallet (OPERATOR_ROLES, or the SSM parameter
    OPERATOR_ROLES_PARAMETER names), or None for a buyer."""
    text = settings.operator_roles
    if text is None and settings.operator_roles_parameter:
        text = secret(None, settings.operator_roles_parameter)
        try:
            parse_operator_roles(text or "")
        except ValueError as exc:
            raise ConfigurationError(f"OPERATOR_ROLES_PARAMETER: {exc}") from None
    return parse_operator_roles(text or "").get(wallet)


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
    if not is_public_key(claims["sub"]) or claims.get("role", "admin") not in OPERATOR_ROLE_NAMES:
        raise PackvaultError(ErrorCode.TOKEN_INVALID)
    return claims


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
