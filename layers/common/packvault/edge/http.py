"""The one module that knows API Gateway: HTTP API (payload 2.0) routing, JSON errors, structured logs.

Every error a client sees has the shape {"error": {"code", "message", "details"?, "request_id"}}.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from packvault.core import context
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settings import get_settings

__all__ = [
    "create_app",
    "current_account",
    "current_role",
    "current_service",
    "idempotency_key",
    "json_body",
    "logger",
    "query_limit",
    "rate_limited",
    "raw_body",
    "signed_in_wallet",
    "to_json",
]


def to_json(body: object) -> str:
    return json.dumps(body, separators=(",", ":"))


def current_account(app: APIGatewayHttpResolver) -> str:
    """The signed-in buyer's account, as the authorizer put it in the request context; 401 otherwise, 403
    ACCOUNT_CLOSED for a closed account.

    The authorizer verifies the token and passes either the account and its expiry or the reason it failed,
    so every refusal reaches the client as a 401 in the one error shape. The expiry is checked again here
    because API Gateway caches authorizer answers; that the account is still open is checked here (one GetItem,
    the authorizer stays free of DynamoDB), at most once per ACCOUNT_CHECK_SECONDS per account and container — the
    window API Gateway already caches an authorizer's answer for (ReauthorizeEvery) — so a closed account is
    refused everywhere within a minute and a buyer's repeated requests cost no extra round trip.
    """
    granted = app.current_event.request_context.authorizer.get_lambda or {}
    if granted.get("service"):
        raise PackvaultError(ErrorCode.BUYER_TOKEN_REQUIRED)
    account, expires = granted.get("account") or granted.get("wallet"), granted.get("exp")
    if account and expires and int(expires) > time.time():
        _check_open(str(account))
        context.act_as(str(account))
        return str(account)
    if account:
        raise PackvaultError(ErrorCode.TOKEN_EXPIRED)
    code = granted.get("auth_error")
    raise PackvaultError(ErrorCode(code) if code in _AUTH_ERRORS else ErrorCode.AUTH_REQUIRED)


ACCOUNT_CHECK_SECONDS = 60
_OPEN_SINCE: dict[str, float] = {}


def _check_open(account: str) -> None:
    now = time.monotonic()
    if now - _OPEN_SINCE.get(account, -ACCOUNT_CHECK_SECONDS) < ACCOUNT_CHECK_SECONDS:
        return
    from packvault.accounts.principal import require_open

    require_open(account)  # a refusal is never remembered: a closed account is read again each time
    if len(_OPEN_SINCE) > 10_000:
        _OPEN_SINCE.clear()
    _OPEN_SINCE[account] = now


def current_service(app: APIGatewayHttpResolver, scope: str) -> str:
    """The partner service a service token names, once its client is read and found active with `scope` (every
    request: a revoked client is refused at once); 403 SERVICE_TOKEN_REQUIRED for a buyer's or operator's token."""
    granted = app.current_event.request_context.authorizer.get_lambda or {}
    service, expires = granted.get("service"), granted.get("exp")
    if not service:
        if granted.get("account") or granted.get("wallet"):
            raise PackvaultError(ErrorCode.SERVICE_TOKEN_REQUIRED)
        code = granted.get("auth_error")
        raise PackvaultError(ErrorCode(code) if code in _AUTH_ERRORS else ErrorCode.AUTH_REQUIRED)
    if not expires or int(expires) <= time.time():
        raise PackvaultError(ErrorCode.TOKEN_EXPIRED)
    from packvault.accounts.service_clients import require_active

    require_active(str(service), scope, str(granted.get("scopes") or "").split())
    context.act_as(f"service:{service}")
    return str(service)


def signed_in_wallet(app: APIGatewayHttpResolver) -> str | None:
    """The Solana wallet the session signed in with (None for a passkey or email sign-in)."""
    granted = app.current_event.request_context.authorizer.get_lambda or {}
    wallet = granted.get("signed_in_wallet")
    return str(wallet) if wallet else None


def current_role(app: APIGatewayHttpResolver) -> str | None:
    """The operator role the signed-in account's token carries (None for a buyer)."""
    granted = app.current_event.request_context.authorizer.get_lambda or {}
    role = granted.get("role")
    return str(role) if role else None


def idempotency_key(app: APIGatewayHttpResolver, body: dict | None = None) -> str | None:
    """The Idempotency-Key header; with `body`, seed 004's `idempotency_key` field is read too (the same scope and
    stored answer): one of them, or both equal; both and different is 400 IDEMPOTENCY_KEY_MISMATCH."""
    header = app.current_event.headers.get("idempotency-key")
    field = (body or {}).get("idempotency_key")
    if field is None:
        return header
    if not isinstance(field, str):
        raise PackvaultError(ErrorCode.INVALID_IDEMPOTENCY_KEY)
    if header is not None and header != field:
        raise PackvaultError(ErrorCode.IDEMPOTENCY_KEY_MISMATCH)
    return field


_AUTH_ERRORS = {ErrorCode.AUTH_REQUIRED, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED}


def query_limit(app: APIGatewayHttpResolver, default: int = 20, maximum: int = 100) -> int:
    raw = app.current_event.get_query_string_value("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise PackvaultError(ErrorCode.INVALID_LIMIT)
    return int(raw)


MAX_JSON_BODY_BYTES = 64 * 1024  # every JSON request of this API is a few hundred bytes
MAX_RAW_BODY_BYTES = 1024 * 1024  # outside services' callbacks (Stripe events are well under this)


def raw_body(app: APIGatewayHttpResolver, limit: int = MAX_RAW_BODY_BYTES) -> bytes:
    """The request body exactly as sent (API Gateway base64-encodes bodies it does not treat as text);
    signatures are computed over these bytes, never over a re-serialised JSON. 413 past `limit`."""
    event = app.current_event
    body = event.get("body") or ""
    if len(body) > 2 * limit:  # cheap early refusal before decoding anything large
        raise PackvaultError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise PackvaultError(ErrorCode.INVALID_BODY_ENCODING) from None
    else:
        data = body.encode("utf-8", errors="surrogatepass")
    if len(data) > limit:
        raise PackvaultError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    return data


def json_body(app: APIGatewayHttpResolver) -> dict:
    """The request body as a JSON object: 415 UNSUPPORTED_MEDIA_TYPE (a body sent as anything but JSON: text,
    form and multipart bodies are what a page on another site can send without a preflight), 400
    INVALID_BODY_ENCODING (not UTF-8), 400 INVALID_JSON (not JSON, or not an object), 413 PAYLOAD_TOO_LARGE. The one
    place a handler's body is read."""
    data = raw_body(app, MAX_JSON_BODY_BYTES)
    if not data.strip():
        return {}
    content_type = app.current_event.headers.get("content-type") or ""
    if not is_json_media_type(content_type):
        raise PackvaultError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, content_type=content_type[:100] or None)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PackvaultError(ErrorCode.INVALID_BODY_ENCODING) from None
    try:
        body = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise PackvaultError(ErrorCode.INVALID_JSON) from None
    if not isinstance(body, dict):
        raise PackvaultError(ErrorCode.INVALID_JSON, "The request body must be a JSON object.")
    return body


def is_json_media_type(content_type: str) -> bool:
    """application/json or a +json type (parameters such as charset allowed)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _request_context(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Events written by this request carry its id; the actor is anonymous until an account is established."""
    context.begin("anonymous", app.current_event.request_context.request_id)
    return next_middleware(app)


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _origin_guard(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """A browser names the page's origin on every state-changing request; refuse pages not on the allow-list
    (403 ORIGIN_NOT_ALLOWED). Requests without an Origin header (servers, the CLI, webhooks) are unaffected,
    and bearer tokens are never sent by a browser on its own (docs/ARCHITECTURE.md, "Browsers and CSRF")."""
    origin = app.current_event.headers.get("origin")
    if origin and app.current_event.request_context.http.method.upper() not in _SAFE_METHODS:
        allowed = get_settings().allowed_origins
        if allowed and allowed != ("*",) and origin.rstrip("/") not in allowed:
            raise PackvaultError(ErrorCode.ORIGIN_NOT_ALLOWED, origin=origin[:200])
    return next_middleware(app)


def rate_limited(scope: str) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response]:
    """A route middleware counting the request against its caller's limit (packvault.ratelimit): the client
    IP, or the account the authorizer established."""
    from packvault.edge import ratelimit

    def limit(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        if ratelimit.LIMITS[scope].identity == "ip":
            identity = app.current_event.request_context.http.source_ip
        else:
            identity = current_account(app)
        ratelimit.enforce(get_settings(), scope, identity)
        return next_middleware(app)

    return limit


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    app.use(middlewares=[_request_context, _origin_guard])

    def error_response(error: PackvaultError) -> Response:
        request_id = app.current_event.request_context.request_id
        retry_after = error.details.get("retry_after_seconds")
        return Response(
            status_code=error.status,
            content_type=content_types.APPLICATION_JSON,
            body=to_json(error.to_body(request_id)),
            headers={"Retry-After": str(retry_after)} if retry_after else None,
        )

    @app.exception_handler(PackvaultError)
    def _domain_error(error: PackvaultError) -> Response:
        log = logger.error if error.status >= 500 else logger.info
        log("request refused", extra={"error_code": str(error.code), "status": error.status})
        return error_response(error)

    @app.exception_handler(json.JSONDecodeError)
    def _bad_json(_: json.JSONDecodeError) -> Response:
        return error_response(PackvaultError(ErrorCode.INVALID_JSON))

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(PackvaultError(ErrorCode.ROUTE_NOT_FOUND))

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(PackvaultError(ErrorCode.INTERNAL_ERROR))

    return app
