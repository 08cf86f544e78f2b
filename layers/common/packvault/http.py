"""The one module that knows API Gateway: HTTP API (payload 2.0) routing, JSON errors, structured logs.

Every error a client sees has the shape {"error": {"code", "message", "details"?, "request_id"}}.
"""

from __future__ import annotations

import json
import time

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from packvault.errors import ErrorCode, PackvaultError
from packvault.log import logger

__all__ = ["create_app", "current_wallet", "json_body", "logger", "query_limit", "raw_body", "to_json"]


def to_json(body: object) -> str:
    return json.dumps(body, separators=(",", ":"))


def current_wallet(app: APIGatewayHttpResolver) -> str:
    """The signed-in buyer's wallet, as the authorizer put it in the request context; 401 otherwise.

    The authorizer verifies the token and passes either the wallet and its expiry or the reason it failed,
    so every refusal reaches the client as a 401 in the one error shape. The expiry is checked again here
    because API Gateway caches authorizer answers.
    """
    context = app.current_event.request_context.authorizer.get_lambda or {}
    wallet, expires = context.get("wallet"), context.get("exp")
    if wallet and expires and int(expires) > time.time():
        return str(wallet)
    if wallet:
        raise PackvaultError(ErrorCode.TOKEN_EXPIRED)
    code = context.get("auth_error")
    raise PackvaultError(ErrorCode(code) if code in _AUTH_ERRORS else ErrorCode.AUTH_REQUIRED)


_AUTH_ERRORS = {ErrorCode.AUTH_REQUIRED, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED}


def query_limit(app: APIGatewayHttpResolver, default: int = 20, maximum: int = 100) -> int:
    raw = app.current_event.get_query_string_value("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise PackvaultError(ErrorCode.INVALID_LIMIT)
    return int(raw)


def json_body(app: APIGatewayHttpResolver) -> dict:
    """The request body as a JSON object; 400 INVALID_JSON otherwise."""
    body = app.current_event.json_body if app.current_event.body else {}
    if not isinstance(body, dict):
        raise PackvaultError(ErrorCode.INVALID_JSON, "The request body must be a JSON object.")
    return body


def raw_body(app: APIGatewayHttpResolver) -> bytes:
    """The request body exactly as sent (API Gateway base64-encodes bodies it does not treat as text);
    signatures are computed over these bytes, never over a re-serialised JSON."""
    event = app.current_event
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        return base64.b64decode(body)
    return body.encode("utf-8")


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    def error_response(error: PackvaultError) -> Response:
        request_id = app.current_event.request_context.request_id
        return Response(
            status_code=error.status,
            content_type=content_types.APPLICATION_JSON,
            body=to_json(error.to_body(request_id)),
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
