"""The OAuth 2.0 token endpoint for partner services (RFC 6749 §4.4, client credentials): the convention a
partner's HTTP client or OAuth library already speaks. Client authentication by HTTP Basic (preferred, §2.3.1) or
client_id/client_secret in the form body; a requested `scope` must be a subset of the client's. Answers and errors in
the RFC's own shapes (§5.1, §5.2: `{"error": "invalid_client", ...}`), which OAuth libraries parse — the one route
whose errors are not in the API's error shape."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from packvault.accounts import service_clients
from packvault.core.settings import Settings
from packvault.edge import auth

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token(settings: Settings, authorization: str | None, content_type: str, body: bytes
          ) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, answer, headers) for POST /api/v1/oauth/token."""
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", "Send the form as application/x-www-form-urlencoded (RFC 6749 §4.4.2).")
    try:
        form = {k: v for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10).items()}
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_request", "The form could not be read.")
    if any(len(values) > 1 for values in form.values()):
        return _error(400, "invalid_request", "A parameter was sent more than once.")
    fields = {k: v[0] for k, v in form.items()}
    if fields.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "Only grant_type=client_credentials is offered.")
    credentials = _credentials(authorization, fields)
    if credentials is None:
        return _error(400, "invalid_request", "Authenticate with HTTP Basic or client_id and client_secret, once.")
    client = service_clients.authenticate(*credentials)
    if client is None:
        return _error(401, "invalid_client", "Unknown client, wrong secret, or a revoked client.",
                      {"WWW-Authenticate": 'Basic realm="packvault"'})
    requested = fields.get("scope")
    scopes = sorted(set(requested.split())) if requested else list(client.scopes)
    if not scopes or not set(scopes) <= set(client.scopes):
        return _error(400, "invalid_scope", f"This client may ask for: {' '.join(client.scopes)}.")
    return 200, auth.service_token(settings, client.client_id, scopes), NO_STORE


def _credentials(authorization: str | None, fields: dict[str, str]) -> tuple[str, str] | None:
    in_body = "client_id" in fields or "client_secret" in fields
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic":
        if in_body:
            return None
        try:
            client_id, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (unquote_plus(client_id), unquote_plus(secret)) if separator else None
    if in_body:
        return fields.get("client_id", ""), fields.get("client_secret", "")
    return None


def _error(status: int, error: str, description: str, headers: dict[str, str] | None = None
           ) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"error": error, "error_description": description}, {**NO_STORE, **(headers or {})}
