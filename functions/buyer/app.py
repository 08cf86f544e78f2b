"""The signed-in buyer's own views: one opening, their openings, their vault."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge.http import create_app, current_account, logger, query_limit
from packvault.edge.runtime import configure
from packvault.sales import openings, vault

configure()
app = create_app()


@app.get("/api/v1/packs/openings/<opening_id>")
def get_opening(opening_id: str) -> dict:
    return openings.get_own_opening(current_account(app), opening_id)


@app.get("/api/v1/me/openings")
def list_openings() -> dict:
    return openings.list_own_openings(current_account(app), query_limit(app), app.current_event.get_query_string_value(
        "cursor"))


@app.get("/api/v1/me/vault")
def list_vault() -> dict:
    return vault.list_vault(current_account(app), query_limit(app), app.current_event.get_query_string_value("cursor"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
