"""Open Payments (Interledger): POST /api/v1/packs/{pack_id}/open-payments/checkout (buyer) reserves a unit and
asks the buyer's wallet for an outgoing-payment grant; GET /api/v1/open-payments/finish/{key} (public) is where
the wallet sends the browser back; GET /api/v1/open-payments/jwks.json (public) is the seller's public key set."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge.http import create_app, current_account, json_body, logger, rate_limited, to_json
from packvault.edge.runtime import configure
from packvault.rails.open_payments import checkout as open_payments_checkout

settings = configure()
rail = open_payments_checkout.from_settings(settings)
app = create_app()


@app.post("/api/v1/packs/<pack_id>/open-payments/checkout", middlewares=[rate_limited("checkout")])
def start_checkout(pack_id: str) -> Response:
    status, answer = open_payments_checkout.start_checkout(rail, current_account(app), pack_id, json_body(app),
                                                           app.current_event.get_header_value("idempotency-key"))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer))


@app.get("/api/v1/open-payments/finish/<key>")
def finish(key: str) -> Response:
    answer = open_payments_checkout.finish(rail, key, dict(app.current_event.query_string_parameters or {}))
    if answer.location is not None:
        return Response(status_code=303, headers={"Location": answer.location, "Cache-Control": "no-store"},
                        body="")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=to_json(answer.as_dict()),
                    headers={"Cache-Control": "no-store"})


@app.get("/api/v1/open-payments/jwks.json")
def jwks() -> Response:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=to_json(open_payments_checkout.seller_jwks(rail)), headers={"Cache-Control": "max-age=300"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
