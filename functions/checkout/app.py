"""POST /api/v1/packs/{pack_id}/checkout: reserve a unit and open a Stripe Checkout Session for it; POST
/api/v1/credits/bundles/{bundle_id}/checkout: the same for a bundle of credits (a top-up)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge import purchasing
from packvault.edge.http import create_app, current_account, idempotency_key, json_body, logger, rate_limited, to_json
from packvault.edge.runtime import configure
from packvault.rails.card import checkout as _card_checkout  # noqa: F401 - loaded at init, as before
from packvault.rails.card import stripe_api as stripe_checkout

settings = configure()
cards = stripe_checkout.from_settings(settings)
app = create_app()
CHECKOUT_LIMIT = rate_limited("checkout")


@app.post("/api/v1/packs/<pack_id>/checkout", middlewares=[CHECKOUT_LIMIT])
def start_checkout(pack_id: str) -> Response:
    body = json_body(app)
    status, answer = purchasing.checkout(settings, cards, current_account(app), pack_id, body,
                                              idempotency_key(app, body))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@app.post("/api/v1/credits/bundles/<bundle_id>/checkout", middlewares=[CHECKOUT_LIMIT])
def checkout_credits(bundle_id: str) -> Response:
    body = json_body(app)
    status, answer = purchasing.checkout(settings, cards, current_account(app), bundle_id, body,
                                              idempotency_key(app, body), "credits")
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@app.post("/api/v1/game-credits/<item_id>/checkout", middlewares=[CHECKOUT_LIMIT])
def checkout_game_credit(item_id: str) -> Response:
    body = json_body(app)
    status, answer = purchasing.checkout(settings, cards, current_account(app), item_id, body,
                                              idempotency_key(app, body), "game_credit")
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@app.post("/api/v1/entitlements/products/<entitlement_id>/checkout", middlewares=[CHECKOUT_LIMIT])
def checkout_entitlement(entitlement_id: str) -> Response:
    body = json_body(app)
    status, answer = purchasing.checkout(settings, cards, current_account(app), entitlement_id, body,
                                         idempotency_key(app, body), "entitlement")
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
