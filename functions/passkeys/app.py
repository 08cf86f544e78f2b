"""Passkeys (WebAuthn): sign up and sign in (POST /api/v1/auth/passkey/register/options|verify,
/api/v1/auth/passkey/authenticate/options|verify, public) and link a passkey to the signed-in account
(POST /api/v1/me/identities/passkey/options, /api/v1/me/identities/passkey). The only function that loads the
`webauthn` library (its own layer)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.accounts import passkeys
from packvault.edge import auth
from packvault.edge.http import create_app, current_account, json_body, logger, rate_limited
from packvault.edge.runtime import configure

settings = configure()
auth.signing_key(settings)
app = create_app()
SIGN_IN_LIMIT = rate_limited("sign-in")


@app.post("/api/v1/auth/passkey/register/options", middlewares=[SIGN_IN_LIMIT])
def register_options() -> dict:
    return passkeys.registration_options(settings, passkeys.REGISTER, None, json_body(app).get("name"))


@app.post("/api/v1/auth/passkey/register/verify", middlewares=[SIGN_IN_LIMIT])
def register() -> dict:
    return auth.issue_token(settings, passkeys.register(settings, json_body(app).get("credential")))


@app.post("/api/v1/auth/passkey/authenticate/options", middlewares=[SIGN_IN_LIMIT])
def authenticate_options() -> dict:
    return passkeys.authentication_options(settings)


@app.post("/api/v1/auth/passkey/authenticate/verify", middlewares=[SIGN_IN_LIMIT])
def authenticate() -> dict:
    return auth.issue_token(settings, passkeys.authenticate(settings, json_body(app).get("credential")))


@app.post("/api/v1/me/identities/passkey/options", middlewares=[SIGN_IN_LIMIT])
def link_options() -> dict:
    return passkeys.registration_options(settings, passkeys.LINK, current_account(app), json_body(app).get("name"))


@app.post("/api/v1/me/identities/passkey", middlewares=[SIGN_IN_LIMIT])
def link() -> dict:
    from packvault.accounts.principal import identities_view

    account_id = current_account(app)
    passkeys.register(settings, json_body(app).get("credential"), signed_in=account_id)
    return identities_view(account_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
