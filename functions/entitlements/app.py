"""Entitlement packs: what is on sale (GET /api/v1/entitlements, public), a buyer's holdings
(GET /api/v1/me/entitlements), and for partner services with a service token a holding's units
(GET /api/v1/entitlements/{holding_id}), consuming them (POST .../consume) and giving them back (POST .../restore)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.catalog import entitlements as catalog
from packvault.edge.http import create_app, current_account, current_service, json_body, logger, query_limit, to_json
from packvault.edge.runtime import configure
from packvault.products import entitlements

settings = configure()
app = create_app()
CONSUME, READ = "entitlements:consume", "entitlements:read"


def _json(body: dict, status: int = 200) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(body))


@app.get("/api/v1/entitlements")
def on_sale() -> Response:
    return _json(catalog.list_on_sale())


@app.get("/api/v1/me/entitlements")
def my_holdings() -> Response:
    return _json(entitlements.my_holdings(current_account(app), query_limit(app),
                                          app.current_event.get_query_string_value("cursor")))


@app.get("/api/v1/entitlements/<holding_id>")
def holding(holding_id: str) -> Response:
    current_service(app, READ)
    return _json(entitlements.service_holding(holding_id))


@app.post("/api/v1/entitlements/<holding_id>/consume")
def consume(holding_id: str) -> Response:
    status, answer = entitlements.consume(current_service(app, CONSUME), holding_id, json_body(app))
    return _json(answer, status)


@app.post("/api/v1/entitlements/<holding_id>/restore")
def restore(holding_id: str) -> Response:
    status, answer = entitlements.restore(current_service(app, CONSUME), holding_id, json_body(app))
    return _json(answer, status)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
