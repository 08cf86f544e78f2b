"""Sign-in and the account's identities: Sign-In With Solana (POST /api/v1/auth/nonce, /api/v1/auth/verify), email
one-time codes (POST /api/v1/auth/email/start, /api/v1/auth/email/verify), and for a signed-in account
GET /api/v1/me/identities, linking a wallet or an email (POST /api/v1/me/identities/wallet|email) and unlinking
(DELETE /api/v1/me/identities/{kind}/{identity_id}); partner services' tokens (POST /api/v1/oauth/token, OAuth 2.0
client credentials). Passkeys have their own function (functions/passkeys)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.edge import auth, identities, oauth
from packvault.edge.http import create_app, current_account, json_body, logger, rate_limited, raw_body, to_json
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


@app.post("/api/v1/auth/email/start", middlewares=[SIGN_IN_LIMIT])
def start_email() -> dict:
    return auth.start_email_sign_in(settings, json_body(app).get("email"))


@app.post("/api/v1/auth/email/verify", middlewares=[SIGN_IN_LIMIT])
def verify_email() -> dict:
    body = json_body(app)
    return auth.verify_email_sign_in(settings, body.get("email"), body.get("code"))


@app.post("/api/v1/oauth/token", middlewares=[SIGN_IN_LIMIT])
def service_token() -> Response:
    status, answer, headers = oauth.token(settings, app.current_event.headers.get("authorization"),
                                          app.current_event.headers.get("content-type") or "", raw_body(app, 4096))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=to_json(answer),
                    headers=headers)


@app.get("/api/v1/me/notifications")
def notification_preferences() -> dict:
    return identities.notification_preferences(current_account(app))


@app.put("/api/v1/me/notifications")
def set_notification_preferences() -> dict:
    return identities.set_notification_preferences(current_account(app), json_body(app))


@app.get("/api/v1/me/identities")
def list_identities() -> dict:
    return identities.list_identities(current_account(app))


@app.post("/api/v1/me/identities/wallet", middlewares=[SIGN_IN_LIMIT])
def link_wallet() -> dict:
    return identities.link_wallet(current_account(app), json_body(app))


@app.post("/api/v1/me/identities/email", middlewares=[SIGN_IN_LIMIT])
def link_email() -> dict:
    return identities.link_email(settings, current_account(app), json_body(app))


@app.delete("/api/v1/me/identities/<kind>/<identity_id>")
def unlink(kind: str, identity_id: str) -> dict:
    return identities.unlink(current_account(app), kind, identity_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
