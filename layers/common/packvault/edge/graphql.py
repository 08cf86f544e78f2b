"""The GraphQL adapter (seed 001's operations) over the same domain as the REST API: sign-in, game-credit
products, purchaseGameCredit, order, myOrders. Only the GraphQL function imports this module (ariadne comes in
its own layer).

Limits: at most MAX_DEPTH levels and MAX_COST fields per operation, a 64 KB body (the HTTP adapter), sign-in
counted against the caller's IP like the REST routes. Errors never show internals: a domain refusal becomes
`success: false` with seed 001's message, or a GraphQL error with a stable `extensions.code`; anything
unexpected is "Internal error" with the request id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, ScalarType, graphql_sync, make_executable_schema
from ariadne.validation import cost_validator
from graphql import GraphQLError
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode
from graphql.validation import ValidationRule

from packvault.catalog import views as catalog
from packvault.chain.rpc import SolanaRpc
from packvault.core import context
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settings import Settings, require_platform_wallet
from packvault.edge import auth, ratelimit
from packvault.products import game_credits

# Ariadne logs every error of every request with its traceback, a client's typo included; _format_error logs
# the unexpected ones (through the service's logger), so ariadne's own log stays quiet.
_ARIADNE_LOG = logging.getLogger("packvault.graphql.ariadne")
_ARIADNE_LOG.setLevel(logging.CRITICAL + 1)
_ARIADNE_LOG.propagate = False
MAX_DEPTH = 6
MAX_COST = 200
# Introspection answers are as large as the schema whatever the query's shape: each root costs a fixed amount on
# top of its fields, so aliasing `__schema` 40 times is refused instead of answered with 40 copies. One standard
# introspection query (graphql-core's get_introspection_query, what GraphiQL, Apollo and codegen send: 269) passes;
# it nests deeper than MAX_DEPTH (ofType chains), so the depth limit counts data fields only.
INTROSPECTION_ROOT_COST = {"__schema": 50, "__type": 5}
MAX_INTROSPECTION_COST = 300
AUTHENTICATION_ERROR = "AUTHENTICATION_ERROR"
PURCHASE_OK = "Game credit purchase successful! Order {number} created."
PROOF_NEEDED = ("A wallet address alone proves nothing: call signInMessage(walletAddress) for the message, sign it "
                "with the wallet, then authenticateWallet(walletAddress, message, signature).")
_PURCHASE_FIELDS = ("product_item_id", "transaction_signature", "game_account_id", "server_id", "in_game_name",
                    "additional_info", "currency")


@dataclass
class Caller:
    settings: Settings
    rpc: SolanaRpc | None
    authorization: str | None
    source_ip: str
    request_id: str | None
    _claims: dict[str, Any] | None = field(default=None, repr=False)

    def wallet(self, action: str) -> str:
        """The signed-in account (seed 001 calls every buyer a wallet: a wallet sign-in's account)."""
        return self.claims(action)["sub"]

    def claims(self, action: str) -> dict[str, Any]:
        from packvault.accounts.principal import require_open

        if self._claims is not None:
            return self._claims
        try:
            claims = auth.read_token(self.settings, auth.bearer_token(self.authorization))
            require_open(claims["sub"])
        except PackvaultError:
            raise GraphQLError(f"You must be logged in to {action}",
                               extensions={"code": AUTHENTICATION_ERROR}) from None
        context.act_as(claims["sub"])  # the events this request writes name the buyer
        self._claims = claims
        return claims

    def payer(self, action: str) -> str:
        """The wallet a pay-first top-up must come from: the one the session signed in with, else the account's
        only linked wallet."""
        from packvault.accounts.principal import payer_wallet

        claims = self.claims(action)
        return payer_wallet(claims["sub"], None, claims.get("wallet"))


query, mutation = QueryType(), MutationType()
json_scalar = ScalarType("JSON")
topup_item, user = ObjectType("TopupItem"), ObjectType("User")


@query.field("topupProducts")
def _products(*_: Any) -> list[dict[str, Any]]:
    return catalog.list_game_credits()


@query.field("paymentWallet")
def _payment_wallet(_: Any, info: Any) -> str:
    return require_platform_wallet(info.context.settings)


@query.field("order")
def _order(_: Any, info: Any, id: str) -> dict[str, Any] | None:
    wallet = info.context.wallet("see your orders")
    try:
        return game_credits.get_order(wallet, id)
    except PackvaultError as refused:
        if refused.code == ErrorCode.ORDER_NOT_FOUND:
            return None
        raise


@query.field("myOrders")
def _my_orders(_: Any, info: Any, limit: int = 20) -> list[dict[str, Any]]:
    return game_credits.my_orders(info.context.wallet("see your orders"), limit)


@mutation.field("signInMessage")
def _sign_in_message(_: Any, info: Any, wallet_address: str) -> dict[str, Any]:
    caller: Caller = info.context
    ratelimit.enforce(caller.settings, "sign-in", caller.source_ip)
    challenge = auth.create_nonce(caller.settings, wallet_address)
    return {"wallet_address": challenge["wallet"], "nonce": challenge["nonce"], "message": challenge["message"],
            "expires_at": challenge["expires_at"]}


@mutation.field("authenticateWallet")
def _authenticate(_: Any, info: Any, wallet_address: str, message: str | None = None,
                  signature: str | None = None) -> dict[str, Any]:
    caller: Caller = info.context
    if not message or not signature:  # seed 001 issued a token for any address: that would let anyone be anyone
        return {"user": None, "token": None, "errors": [PROOF_NEEDED]}
    ratelimit.enforce(caller.settings, "sign-in", caller.source_ip)
    try:
        session = auth.verify_sign_in(caller.settings, wallet_address, message, signature)
    except PackvaultError as refused:
        return {"user": None, "token": None, "errors": [refused.message]}
    return {"user": {"wallet_address": session["wallet"]}, "token": session["token"], "errors": []}


@mutation.field("purchaseGameCredit")
def _purchase(_: Any, info: Any, input: dict[str, Any] | None = None, **arguments: Any) -> dict[str, Any]:
    caller: Caller = info.context
    wallet = caller.wallet("purchase game credits")
    try:
        payer = caller.payer("purchase game credits")
        given = _purchase_arguments(input, arguments)
        fields = {name: given.get(name) for name in ("game_account_id", "server_id", "in_game_name")}
        _, order = game_credits.submit_paid_order(caller.settings, caller.rpc, wallet, given["product_item_id"],
                                                  given["transaction_signature"], fields,
                                                  given.get("additional_info"), given.get("currency"), payer)
    except PackvaultError as refused:
        if refused.status >= 500:
            raise
        return {"order": None, "success": False, "message": refused.message,
                "errors": [str(p) for p in refused.details.get("problems", [])] or [refused.message]}
    return {"order": order, "success": True, "message": PURCHASE_OK.format(number=order["order_number"]),
            "errors": []}


def _purchase_arguments(input: dict[str, Any] | None, arguments: dict[str, Any]) -> dict[str, Any]:
    """Seed 001's arguments, or the same as one `input` object; exactly one form, with what it requires."""
    named = {key: value for key, value in arguments.items() if key in _PURCHASE_FIELDS and value is not None}
    if input is not None and named:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "Give either input or the separate arguments, not both.",
                             problems=["input and separate arguments were both given"])
    given = dict(input) if input is not None else named
    missing = [name for name in ("productItemId", "transactionSignature", "gameAccountId")
               if given.get(_snake(name)) is None]
    if missing:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"Missing {', '.join(missing)}.",
                             problems=[f"{name} is required" for name in missing])
    return given


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@topup_item.field("id")
def _item_id(item: dict[str, Any], *_: Any) -> str:
    return item["item_id"]


@user.field("id")
def _user_id(found: dict[str, Any], *_: Any) -> str:
    return found["wallet_address"]


@json_scalar.serializer
def _json_out(value: Any) -> Any:
    return value


class DepthLimit(ValidationRule):
    """Refuses operations nested deeper than MAX_DEPTH fields (fragments followed)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if _depth(node.selection_set, self.context, 0) > MAX_DEPTH:
            self.report_error(GraphQLError(f"The operation is nested deeper than {MAX_DEPTH} levels.", node))


class IntrospectionCost(ValidationRule):
    """Refuses operations whose introspection costs more than MAX_INTROSPECTION_COST: each __schema or __type
    selection costs INTROSPECTION_ROOT_COST plus one per field selected beneath it (fragments followed)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = _introspection_cost(node.selection_set, self.context, inside=False, level=0)
        if cost > MAX_INTROSPECTION_COST:
            self.report_error(GraphQLError(f"The operation's introspection costs {cost}; at most "
                                           f"{MAX_INTROSPECTION_COST} (one standard introspection query).", node))


def _introspection_cost(selection_set: Any, context: Any, inside: bool, level: int) -> int:
    if selection_set is None or level > 4 * MAX_DEPTH:  # fragment cycles are refused by their own rule
        return 0
    cost = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            root = INTROSPECTION_ROOT_COST.get(selection.name.value, 0)
            counted = inside or bool(root)
            cost += root + (1 if inside else 0)
            cost += _introspection_cost(selection.selection_set, context, counted, level + 1)
        else:
            fragment = selection if isinstance(selection, InlineFragmentNode) else \
                context.get_fragment(selection.name.value)
            if fragment is not None:
                cost += _introspection_cost(fragment.selection_set, context, inside, level + 1)
    return cost


def _depth(selection_set: Any, context: Any, level: int) -> int:
    if selection_set is None:
        return level
    deepest = level
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value in INTROSPECTION_ROOT_COST:
            deepest = max(deepest, level + 1)  # bounded by IntrospectionCost instead
        elif isinstance(selection, FieldNode):
            deepest = max(deepest, _depth(selection.selection_set, context, level + 1))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, context, level))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None and level <= MAX_DEPTH:
                deepest = max(deepest, _depth(fragment.selection_set, context, level))
    return deepest


SDL = resources.files("packvault").joinpath("schemas/game_credits.graphql").read_text(encoding="utf-8")
SCHEMA = make_executable_schema(SDL, query, mutation, json_scalar, topup_item, user, convert_names_case=True)


def _format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, PackvaultError):
        return {"message": original.message, "extensions": {"code": str(original.code)}, "path": error.path}
    if original is not None and not isinstance(original, GraphQLError):
        logger.exception("graphql resolver failed", exc_info=original)
        return {"message": "Internal error", "extensions": {"code": "INTERNAL_ERROR"}, "path": error.path}
    return error.formatted


def execute(caller: Caller, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, GraphQL response) for one POST /graphql body ({"query", "variables"?, "operationName"?})."""
    if not isinstance(body.get("query"), str) or len(body["query"]) > 20_000:
        return 400, {"errors": [{"message": "The body must be {\"query\": \"...\"} with a query under 20,000 "
                                            "characters.", "extensions": {"code": "BAD_REQUEST"}}]}
    _, result = graphql_sync(SCHEMA, body, context_value=caller, debug=False, error_formatter=_format_error,
                                   validation_rules=[DepthLimit, IntrospectionCost, cost_validator(
                                       maximum_cost=MAX_COST, default_cost=1, variables=body.get("variables"))],
                                   introspection=True, logger=_ARIADNE_LOG)
    if caller.request_id and result.get("errors"):
        for error in result["errors"]:
            error.setdefault("extensions", {})["request_id"] = caller.request_id
    # GraphQL over HTTP: a document that could not be executed (syntax, validation, limits) is a 400; once it ran,
    # the answer is a 200 whose `errors` say what failed.
    return (200 if "data" in result else 400), result
