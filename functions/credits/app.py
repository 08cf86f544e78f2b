"""The buyer's credits: GET /api/v1/me/credits (balance and ledger); instant buyback of a vault item (GET shows
the offer, POST sells it back once): /api/v1/me/openings/{opening_id}/items/{vault_item_id}/buyback; and the
seed pair that balance openings draw with: GET /api/v1/me/seeds, POST /api/v1/me/seeds/rotate."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge.http import create_app, current_account, json_body, logger, query_limit, to_json
from packvault.edge.runtime import configure
from packvault.rails.credits import balance as credits
from packvault.rails.credits import open as balance_open

configure()
app = create_app()
BUYBACK = "/api/v1/me/openings/<opening_id>/items/<vault_item_id>/buyback"


def _json(body: dict, status: int = 200) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(body))


@app.get("/api/v1/me/credits")
def balance() -> Response:
    return _json(credits.credits_view(current_account(app), query_limit(app),
                                      app.current_event.get_query_string_value("cursor")))


@app.get(BUYBACK)
def offer(opening_id: str, vault_item_id: str) -> Response:
    return _json(credits.buyback_offer(current_account(app), opening_id, vault_item_id))


@app.post(BUYBACK)
def sell(opening_id: str, vault_item_id: str) -> Response:
    return _json(credits.sell_back(current_account(app), opening_id, vault_item_id))


@app.get("/api/v1/me/seeds")
def seeds() -> Response:
    return _json(balance_open.seeds_view(current_account(app)))


@app.post("/api/v1/me/seeds/rotate")
def rotate_seeds() -> Response:
    return _json(balance_open.rotate(current_account(app), json_body(app)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
