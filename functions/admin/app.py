"""The operators' API under /api/v1/admin: packs (list, read, create, patch, activate, deactivate), openings,
refunds (list, mark refunded), entitlement products (create or replace), partner service clients (list, create,
rotate, finish a rotation, revoke), closing a buyer account and any entity's events. Every route needs an operator role
(admin for changes, support or admin for reads); every change needs an Idempotency-Key."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge import admin
from packvault.edge.http import (
    create_app,
    current_account,
    current_role,
    idempotency_key,
    json_body,
    logger,
    query_limit,
    rate_limited,
    to_json,
)
from packvault.edge.runtime import configure

settings = configure()
app = create_app()
CHANGE_LIMIT = rate_limited("admin-change")


def _operator(needs: str) -> str:
    wallet = current_account(app)
    admin.authorize(settings, wallet, current_role(app), needs)
    return wallet


def _admin_change(resolver: object, next_middleware: object) -> Response:
    """The role before the rate limit: a buyer is refused (403) without counting against anyone's limit."""
    _operator(admin.ADMIN)
    return CHANGE_LIMIT(resolver, next_middleware)


def _json(body: dict, status: int = 200) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(body))


def _query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


@app.get("/api/v1/admin/packs")
def list_packs() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.list_packs())


@app.post("/api/v1/admin/packs", middlewares=[_admin_change])
def create_pack() -> Response:
    status, answer = admin.create_pack(_operator(admin.ADMIN), json_body(app), idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/packs/<pack_id>")
def get_pack(pack_id: str) -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.get_pack(pack_id))


@app.patch("/api/v1/admin/packs/<pack_id>", middlewares=[_admin_change])
def patch_pack(pack_id: str) -> Response:
    status, answer = admin.patch_pack(_operator(admin.ADMIN), pack_id, json_body(app), idempotency_key(app),
                                      if_match=app.current_event.headers.get("if-match"))
    return _json(answer, status)


@app.post("/api/v1/admin/packs/<pack_id>/activate", middlewares=[_admin_change])
def activate(pack_id: str) -> Response:
    status, answer = admin.set_pack_status(_operator(admin.ADMIN), pack_id, "ACTIVE", idempotency_key(app))
    return _json(answer, status)


@app.post("/api/v1/admin/packs/<pack_id>/deactivate", middlewares=[_admin_change])
def deactivate(pack_id: str) -> Response:
    status, answer = admin.set_pack_status(_operator(admin.ADMIN), pack_id, "INACTIVE", idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/openings")
def list_openings() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.list_openings(_query("pack_id"), _query("status"), query_limit(app), _query("cursor")))


@app.get("/api/v1/admin/refunds")
def list_refunds() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.list_refunds())


@app.post("/api/v1/admin/refunds/<opening_id>/mark-refunded", middlewares=[_admin_change])
def mark_refunded(opening_id: str) -> Response:
    status, answer = admin.mark_refunded(_operator(admin.ADMIN), opening_id, json_body(app), idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/webhook-endpoints")
def list_webhook_endpoints() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.list_webhook_endpoints())


@app.post("/api/v1/admin/webhook-endpoints", middlewares=[_admin_change])
def create_webhook_endpoint() -> Response:
    status, answer = admin.webhook_endpoint_change(settings, _operator(admin.ADMIN), "create", None, None,
                                                   json_body(app), idempotency_key(app))
    return _json(answer, status)


@app.post("/api/v1/admin/webhook-endpoints/<endpoint_id>/<action>", middlewares=[_admin_change])
def change_webhook_endpoint(endpoint_id: str, action: str) -> Response:
    status, answer = admin.webhook_endpoint_change(settings, _operator(admin.ADMIN), action, endpoint_id, None,
                                                   json_body(app), idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/webhook-endpoints/<endpoint_id>/deliveries")
def list_deliveries(endpoint_id: str) -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.endpoint_deliveries(endpoint_id, query_limit(app), _query("cursor")))


@app.post("/api/v1/admin/webhook-endpoints/<endpoint_id>/deliveries/<notification_id>/replay",
          middlewares=[_admin_change])
def replay_delivery(endpoint_id: str, notification_id: str) -> Response:
    status, answer = admin.webhook_endpoint_change(settings, _operator(admin.ADMIN), "replay", endpoint_id,
                                                   notification_id, {}, idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/service-clients")
def list_service_clients() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.list_service_clients())


@app.post("/api/v1/admin/service-clients", middlewares=[_admin_change])
def create_service_client() -> Response:
    status, answer = admin.service_client_change(_operator(admin.ADMIN), "create", None, json_body(app),
                                                 idempotency_key(app))
    return _json(answer, status)


@app.post("/api/v1/admin/service-clients/<client_id>/<action>", middlewares=[_admin_change])
def change_service_client(client_id: str, action: str) -> Response:
    status, answer = admin.service_client_change(_operator(admin.ADMIN), action, client_id, json_body(app),
                                                 idempotency_key(app))
    return _json(answer, status)


@app.put("/api/v1/admin/entitlements/<entitlement_id>", middlewares=[_admin_change])
def put_entitlement(entitlement_id: str) -> Response:
    status, answer = admin.put_entitlement(_operator(admin.ADMIN), entitlement_id, json_body(app),
                                           idempotency_key(app))
    return _json(answer, status)


@app.post("/api/v1/admin/accounts/<account_id>/close", middlewares=[_admin_change])
def close_account(account_id: str) -> Response:
    status, answer = admin.close_account(_operator(admin.ADMIN), account_id, json_body(app), idempotency_key(app))
    return _json(answer, status)


@app.get("/api/v1/admin/events")
def list_events() -> Response:
    _operator(admin.SUPPORT)
    return _json(admin.events(_query("entity"), query_limit(app, default=50), _query("cursor")))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
