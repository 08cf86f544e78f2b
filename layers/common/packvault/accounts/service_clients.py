"""Partner services (seed 004's Ordering, a game server): principals apart from buyers and operators. Operators
create them (CLI, admin route) with scopes; each gets a secret shown once and stored only as a SHA-256 hash (the
secret is 256 random bits, so a fast hash is enough: nothing to brute-force), can be rotated without downtime (the
old and the new secret both work until the rotation is finished) and revoked at once. Services exchange their
credentials for short-lived tokens (edge.auth, OAuth 2.0 client credentials)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError

SCOPES = ("entitlements:consume", "entitlements:read")
_CLIENT_ID = re.compile(r"^svc_[a-z2-7]{20}$")
_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")


def is_client_id(text: Any) -> bool:
    return isinstance(text, str) and _CLIENT_ID.match(text) is not None


def create(name: Any, scopes: Any) -> dict[str, Any]:
    """A new active client; the answer carries its secret, which is never shown again."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "name: 1-64 letters, digits, spaces and . _ -", field="name")
    wanted = _scopes(scopes)
    client_id = "svc_" + base64.b32encode(secrets.token_bytes(12)).decode().lower()[:20]
    secret = _new_secret()
    now = store.utc_now_iso()
    client = store.ServiceClientRecord(pk=store.service_client_pk(client_id), sk="CLIENT", gsi1sk=client_id,
                                       client_id=client_id, name=name, scopes=wanted,
                                       secret_hashes=[_hash(secret)], active=True, created_at=now, updated_at=now)
    store.put_service_client(client, "SERVICE_CLIENT_CREATED", {"name": name, "scopes": wanted}, new=True)
    return {**view(client), "client_secret": secret}


def rotate(client_id: str) -> dict[str, Any]:
    """A new secret; the previous one keeps working until finish_rotation (so a partner can deploy the new one)."""
    client = _client(client_id)
    secret = _new_secret()
    client.secret_hashes = [_hash(secret), client.secret_hashes[0]]
    client.updated_at = store.utc_now_iso()
    store.put_service_client(client, "SERVICE_CLIENT_SECRET_ROTATED", {"secrets_valid": 2})
    return {**view(client), "client_secret": secret}


def finish_rotation(client_id: str) -> dict[str, Any]:
    client = _client(client_id)
    client.secret_hashes = client.secret_hashes[:1]
    client.updated_at = store.utc_now_iso()
    store.put_service_client(client, "SERVICE_CLIENT_ROTATION_FINISHED", {"secrets_valid": 1})
    return view(client)


def revoke(client_id: str) -> dict[str, Any]:
    """Deactivate: its secrets and every token it holds stop working at once (each request reads the client)."""
    client = _client(client_id)
    client.active = False
    client.updated_at = store.utc_now_iso()
    store.put_service_client(client, "SERVICE_CLIENT_REVOKED", {})
    return view(client)


def authenticate(client_id: Any, secret: Any) -> store.ServiceClientRecord | None:
    """The active client these credentials name, or None (which of them was wrong is not told)."""
    if not is_client_id(client_id) or not isinstance(secret, str) or len(secret) > 200:
        return None
    client = store.get_service_client(client_id)
    if client is None or not client.active:
        return None
    digest = _hash(secret)
    return client if any(hmac.compare_digest(digest, known) for known in client.secret_hashes) else None


def require_active(client_id: str, scope: str, granted: list[str]) -> None:
    """A service token's client must still be active and the token must carry `scope`."""
    client = store.get_service_client(client_id) if is_client_id(client_id) else None
    if client is None or not client.active:
        raise PackvaultError(ErrorCode.TOKEN_INVALID, "This service client was revoked; its tokens no longer work.")
    if scope not in granted or scope not in client.scopes:
        raise PackvaultError(ErrorCode.SCOPE_MISSING, scope_needed=scope)


def view(client: store.ServiceClientRecord) -> dict[str, Any]:
    return {"client_id": client.client_id, "name": client.name, "scopes": list(client.scopes),
            "active": client.active, "secrets_valid": len(client.secret_hashes), "created_at": client.created_at,
            "updated_at": client.updated_at}


def _client(client_id: str) -> store.ServiceClientRecord:
    client = store.get_service_client(client_id) if is_client_id(client_id) else None
    if client is None:
        raise PackvaultError(ErrorCode.SERVICE_CLIENT_NOT_FOUND)
    return client


def _scopes(scopes: Any) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s for s in re.split(r"[ ,]+", scopes) if s]
    if not isinstance(scopes, list) or not scopes or any(s not in SCOPES for s in scopes):
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"scopes: one or more of {', '.join(SCOPES)}",
                             field="scopes")
    return sorted(set(scopes))


def _new_secret() -> str:
    return "pvs_" + secrets.token_urlsafe(32)


def _hash(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
