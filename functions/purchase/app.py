"""POST /api/v1/packs/{pack_id}/purchase: reserve supply and return a payment quote (or, priced in credits,
open the pack from the balance); POST /api/v1/credits/bundles/{bundle_id}/purchase: a quote for credits."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.core.settings import require_platform_wallet
from packvault.edge import purchasing as purchase
from packvault.edge.http import create_app, current_account, json_body, logger, signed_in_wallet, to_json
from packvault.edge.runtime import configure
from packvault.rails.credits import open as _credits  # noqa: F401 - loaded at init, as before
from packvault.rails.solana import quote as _quote  # noqa: F401 - loaded at init, as before

settings = configure()
require_platform_wallet(settings)
app = create_app()


@app.post("/api/v1/packs/<pack_id>/purchase")
def buy(pack_id: str) -> Response:
    status, quote = purchase.purchase(settings, current_account(app), pack_id, json_body(app),
                                      app.current_event.get_header_value("idempotency-key"), signed_in_wallet(app))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(quote))


@app.post("/api/v1/credits/bundles/<bundle_id>/purchase")
def buy_credits(bundle_id: str) -> Response:
    status, quote = purchase.purchase_bundle(settings, current_account(app), bundle_id, json_body(app),
                                             app.current_event.get_header_value("idempotency-key"),
                                             signed_in_wallet(app))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(quote))


@app.post("/api/v1/game-credits/<item_id>/purchase")
def buy_game_credit(item_id: str) -> Response:
    status, quote = purchase.purchase_game_credit(settings, current_account(app), item_id, json_body(app),
                                                  app.current_event.get_header_value("idempotency-key"),
                                                  signed_in_wallet(app))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(quote))


@app.post("/api/v1/entitlements/products/<entitlement_id>/purchase")
def buy_entitlement(entitlement_id: str) -> Response:
    status, quote = purchase.purchase_entitlement(settings, current_account(app), entitlement_id, json_body(app),
                                                  app.current_event.get_header_value("idempotency-key"),
                                                  signed_in_wallet(app))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(quote))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
