"""The one module that knows API Gateway: HTTP API (payload 2.0) routing, JSON errors, structured logs.

Every error a client sees has the shape {"error": {"code", "message", "details"?, "request_id"}}.
"""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from packvault.errors import ErrorCode, PackvaultError

logger = Logger()


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    def error_response(error: PackvaultError) -> Response:
        request_id = app.current_event.request_context.request_id
        return Response(
            status_code=error.status,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(error.to_body(request_id)),
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
