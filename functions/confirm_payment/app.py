"""POST /api/v1/packs/openings/{opening_id}/confirm-payment: verify the Solana payment, open the pack once."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.chain.rpc import SolanaRpc
from packvault.core.settings import require_platform_wallet
from packvault.edge.http import create_app, current_account, json_body, logger, to_json
from packvault.edge.runtime import configure
from packvault.rails.solana import confirm

settings = configure()
require_platform_wallet(settings)
rpc = SolanaRpc(settings.solana_rpc_urls) if settings.solana_rpc_urls else None
app = create_app()


@app.post("/api/v1/packs/openings/<opening_id>/confirm-payment")
def confirm_payment(opening_id: str) -> Response:
    outcome = confirm.confirm_payment(settings, rpc, current_account(app), opening_id, json_body(app))
    return Response(status_code=outcome.status_code, content_type=content_types.APPLICATION_JSON,
                    body=to_json(outcome.body), headers=outcome.headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
