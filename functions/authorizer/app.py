"""Lambda authorizer for every buyer route (HTTP API, payload 2.0, simple responses).

It verifies the bearer token and hands the handler either the wallet and the token's expiry, or the
reason the token was refused; packvault.edge.http.current_wallet turns a refusal into a 401 in the API's one
error shape (a plain deny would reach the client as API Gateway's bare 403).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.core.errors import PackvaultError
from packvault.core.log import logger
from packvault.core.settings import get_settings
from packvault.edge import auth

settings = get_settings()
auth.signing_key(settings)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        claims = auth.read_token(settings, auth.bearer_token((event.get("headers") or {}).get("authorization")))
    except PackvaultError as refused:
        logger.info("token refused", extra={"error_code": str(refused.code)})
        return {"isAuthorized": True, "context": {"auth_error": str(refused.code)}}
    granted = {"wallet": claims["sub"], "exp": claims["exp"]}
    return {"isAuthorized": True, "context": {**granted, "role": claims["role"]} if "role" in claims else granted}
