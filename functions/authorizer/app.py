"""Lambda authorizer for every buyer route (HTTP API, payload 2.0, simple responses).

It verifies the bearer token and hands the handler either the account, the wallet the session signed in with
(if any), the role and the token's expiry, or the reason the token was refused; packvault.edge.http.current_account
turns a refusal into a 401 in the API's one error shape (a plain deny would reach the client as API Gateway's bare
403). It reads no table: whether the account is still open is checked by current_account.
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
    if claims.get("kind") == "service":  # a partner service: never a buyer, never an operator
        return {"isAuthorized": True, "context": {"service": claims["sub"], "scopes": claims["scope"],
                                                  "exp": claims["exp"]}}
    granted = {"account": claims["sub"], "exp": claims["exp"]}
    if "wallet" in claims:
        granted["signed_in_wallet"] = claims["wallet"]
    if "role" in claims:
        granted["role"] = claims["role"]
    return {"isAuthorized": True, "context": granted}
