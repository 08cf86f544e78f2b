"""POST /api/v1/webhooks/stripe (public): Stripe's signed events, verified on the raw body, applied once."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge.http import create_app, logger, raw_body, to_json
from packvault.edge.runtime import configure
from packvault.rails.card import settlement as card_settlement
from packvault.rails.card import stripe_api as stripe_checkout

settings = configure()
cards = stripe_checkout.from_settings(settings)
app = create_app()


@app.post("/api/v1/webhooks/stripe")
def stripe_event() -> Response:
    answer = card_settlement.handle_webhook(settings, cards, raw_body(app),
                                            app.current_event.get_header_value("stripe-signature"))
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
