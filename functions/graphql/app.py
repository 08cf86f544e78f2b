"""POST /graphql (public: sign-in is one of its operations; the others read the bearer token themselves):
seed 001's game-credit operations over the domain the REST API uses (packvault.graphql_api); GET
/graphql/schema.graphql: its SDL, for schema tools."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.chain.rpc import SolanaRpc
from packvault.edge import graphql as graphql_api
from packvault.edge.http import create_app, json_body, logger, to_json
from packvault.edge.runtime import configure

settings = configure()
rpc = SolanaRpc(settings.solana_rpc_urls) if settings.solana_rpc_urls else None
app = create_app()


@app.post("/graphql")
def graphql() -> Response:
    event = app.current_event
    caller = graphql_api.Caller(settings, rpc, event.headers.get("authorization"),
                                event.request_context.http.source_ip, event.request_context.request_id)
    status, result = graphql_api.execute(caller, json_body(app))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(result))


@app.get("/graphql/schema.graphql")
def schema() -> Response:
    return Response(status_code=200, content_type="text/plain; charset=utf-8", body=graphql_api.SDL,
                    headers={"Cache-Control": "public, max-age=300"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
