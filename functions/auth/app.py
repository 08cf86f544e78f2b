"""Sign-In With Solana: POST /api/v1/auth/nonce and POST /api/v1/auth/verify (public routes)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge import auth
from packvault.edge.http import create_app, json_body, logger, rate_limited
from packvault.edge.runtime import configure

settings = configure()
auth.signing_key(settings)  # fail at cold start, not on the first sign-in, if no key is configured
app = create_app()
SIGN_IN_LIMIT = rate_limited("sign-in")


@app.post("/api/v1/auth/nonce", middlewares=[SIGN_IN_LIMIT])
def create_nonce() -> dict:
    return auth.create_nonce(settings, json_body(app).get("wallet"))


@app.post("/api/v1/auth/verify", middlewares=[SIGN_IN_LIMIT])
def verify() -> dict:
    body = json_body(app)
    return auth.verify_sign_in(settings, body.get("wallet"), body.get("message"), body.get("signature"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
