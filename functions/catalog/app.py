"""Public reads: the packs, one pack, its pull statistics, a pack's immutable odds versions and stock history
chain, the credit bundles, any opening's fairness proof (GET /api/v1/proofs/{opening_id}) and the API's OpenAPI document
(GET /api/v1/openapi.json)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.catalog import stats as pack_statistics
from packvault.catalog import views as catalog
from packvault.edge.http import create_app, logger, to_json
from packvault.edge.runtime import configure
from packvault.fairness import quote_signing, records
from packvault.sales import proofs

configure()
app = create_app()


@app.get("/api/v1/packs")
def list_packs() -> dict:
    return {"packs": catalog.list_active_packs()}


@app.get("/api/v1/packs/<pack_id>")
def get_pack(pack_id: str) -> dict:
    return catalog.get_pack(pack_id)


@app.get("/api/v1/packs/<pack_id>/odds/<version>")
def get_odds_version(pack_id: str, version: str) -> dict:
    return catalog.get_odds_version(pack_id, version)


@app.get("/api/v1/packs/<pack_id>/stock-chain")
def get_stock_chain(pack_id: str) -> dict:
    return catalog.get_stock_chain(pack_id)


@app.get("/api/v1/packs/<pack_id>/stats")
def get_pack_stats(pack_id: str) -> Response:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=to_json(pack_statistics.pack_stats(pack_id)), headers={"Cache-Control": "public, max-age=60"})


@app.get("/api/v1/proofs/<opening_id>")
def get_proof(opening_id: str) -> dict:
    return proofs.public_proof(opening_id)


@app.get("/api/v1/credits/bundles")
def list_bundles() -> dict:
    return {"bundles": catalog.list_active_bundles(), "credit_value_usd": "0.01"}


@app.get("/api/v1/game-credits")
def list_game_credits() -> dict:
    return {"games": catalog.list_game_credits()}


@app.get("/api/v1/fairness/quote-key")
def quote_key() -> dict:
    return quote_signing.public_key()


@app.get("/api/v1/fairness/records/<period>")
def sealed_record(period: str) -> dict:
    return records.period_record(period)


@app.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=catalog.openapi_document(),
                    headers={"Cache-Control": "public, max-age=300"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
