"""template.yaml is the source of truth; these close the gaps the linters leave (references to missing
resources, impossible runtimes, handlers that do not exist, models that disagree with the table)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from local import template
from packvault import store

TPL = template.load()
PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::URLSuffix", "AWS::Partition", "AWS::NoValue"}


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::Sub":  # "text" or ["text", {local: value}]: the local names are not references
                text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)} - set(local)
                found |= _references(list(local.values()))
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def test_every_reference_names_a_resource_parameter_or_pseudo_parameter():
    known = set(TPL["Resources"]) | set(TPL["Parameters"]) | PSEUDO
    assert _references(TPL) - known == set()


def test_functions_run_the_python_the_tests_run_and_their_handlers_exist():
    runtime = TPL["Globals"]["Function"]["Runtime"]
    assert runtime == "python3.13" and TPL["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"  # tests, local stack and CI alike
    for spec in template.functions(TPL).values():
        source = (spec.code_dir / f"{spec.module}.py").read_text()
        assert f"def {spec.handler}(" in source, spec.logical_id


def test_routes_are_versioned_and_unique():
    keys = [route.route_key for route in template.routes(TPL)]
    assert len(keys) == len(set(keys))
    # GraphQL evolves by its schema, not its URL: seed 001's clients call /graphql (its SDL beside it).
    assert all(route.path.startswith("/api/v1/") or route.path in {"/graphql", "/graphql/schema.graphql"}
               for route in template.routes(TPL))
    assert "GET /api/v1/packs" in keys
    assert "GET /api/v1/packs/{pack_id}" in keys


def test_table_keys_and_indexes_match_the_data_access_models():
    (table,) = template.table_definitions(TPL).values()
    definition = table["definition"]
    assert {k["AttributeName"]: k["KeyType"] for k in definition["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert store.PackRecord._hash_keyname == "pk" and store.PackRecord._range_keyname == "sk"
    indexes = {i["IndexName"]: {k["AttributeName"] for k in i["KeySchema"]}
               for i in definition["GlobalSecondaryIndexes"]}
    assert indexes["GSI1"] == {"gsi1pk", "gsi1sk"}
    assert store.ByKindIndex.Meta.index_name == "GSI1"
    assert indexes["ExpiryIndex"] == {"expiry_shard", "expires_at"}
    assert store.ExpiryIndex.Meta.index_name == "ExpiryIndex"
    assert table["ttl"] == {"AttributeName": "ttl", "Enabled": True}


def test_table_is_on_demand_encrypted_and_recoverable():
    props = TPL["Resources"]["Table"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_iam_statements_name_actions_and_resources_exactly():
    for logical_id, resource in template.resources(TPL, "AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                assert "*" not in resources, logical_id
                assert all("*" not in action for action in statement["Action"]), logical_id
                for action in statement["Action"]:
                    assert action.split(":")[0] in {"dynamodb", "ssm", "sqs", "ses"}, (logical_id, action)


PUBLIC_ROUTES = {"GET /api/v1/packs", "GET /api/v1/packs/{pack_id}", "GET /api/v1/packs/{pack_id}/odds/{version}",
                 "POST /api/v1/auth/nonce", "POST /api/v1/auth/verify", "POST /api/v1/webhooks/stripe",
                 "GET /api/v1/credits/bundles", "GET /api/v1/proofs/{opening_id}", "GET /api/v1/openapi.json",
                 "POST /graphql", "GET /graphql/schema.graphql", "GET /api/v1/game-credits",
                 "GET /api/v1/fairness/quote-key",
                 "GET /api/v1/fairness/records/{period}", "GET /api/v1/open-payments/finish/{key}",
                 "GET /api/v1/open-payments/jwks.json", "GET /api/v1/packs/{pack_id}/stock-chain",
                 "GET /api/v1/packs/{pack_id}/stats",
                 "POST /api/v1/auth/email/start", "POST /api/v1/auth/email/verify",
                 "POST /api/v1/auth/passkey/register/options", "POST /api/v1/auth/passkey/register/verify",
                 "POST /api/v1/auth/passkey/authenticate/options", "POST /api/v1/auth/passkey/authenticate/verify",
                 "GET /api/v1/entitlements", "POST /api/v1/oauth/token"}


def test_no_two_routes_name_a_path_variable_differently_at_the_same_place():
    """API Gateway refuses a deploy where /a/{x}/b and /a/{y}/c sit side by side (ConflictException)."""
    seen: dict[tuple[str, ...], str] = {}
    for route in template.routes(TPL):
        parts = route.path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                parent = tuple(parts[:depth])
                assert seen.setdefault(parent, part) == part, (route.path, seen[parent])


def test_every_route_but_the_public_ones_is_behind_the_wallet_authorizer():
    for route in template.routes(TPL):
        if route.route_key in PUBLIC_ROUTES:
            assert route.authorizer is None, route.route_key
        else:
            assert route.authorizer is not None and route.authorizer.name == "WalletAuthorizer", route.route_key
            assert route.authorizer.identity_headers == ("authorization",)
            assert route.authorizer.simple_responses


def test_platform_wallet_is_a_parameter_not_a_literal():
    env = template.global_environment(TPL)
    assert env["PLATFORM_WALLET"] == {"Ref": "PlatformWallet"}
    assert TPL["Parameters"]["PlatformWallet"]["Default"] == ""


def test_expire_quotes_runs_every_minute():
    (schedule,) = template.schedules(TPL)
    assert (schedule.function_id, template.rate_seconds(schedule.expression)) == ("ExpireQuotesFunction", 60)


@pytest.mark.parametrize(("expression", "seconds"), [("rate(1 minute)", 60), ("rate(5 minutes)", 300),
                                                      ("rate(2 hours)", 7200)])
def test_rate_schedules_run_locally(expression, seconds):
    assert template.rate_seconds(expression) == seconds


def test_cron_schedules_are_refused_locally_with_a_reason():
    with pytest.raises(ValueError, match="only rate"):
        template.rate_seconds("cron(0 12 * * ? *)")


def test_no_lambda_code_imports_the_tooling():
    """The layer ships only what functions run: the CLI, the API client and the local-stack state file live in
    packvault_tools, outside it, and nothing in the layer or in a function imports them."""
    from tests.conftest import ROOT

    sources = [*(ROOT / "layers" / "common" / "packvault").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    assert sources
    offenders = [str(path) for path in sources if "packvault_tools" in path.read_text()]
    assert offenders == []


def test_the_operator_signals_have_alarms_that_notify_the_alarm_topic():
    alarms = {name: r["Properties"] for name, r in TPL["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"ApiServerErrorsAlarm", "FunctionErrorsAlarm", "RefundsDueAlarm",
                           "WebhookSignatureFailuresAlarm", "FulfilmentDeadLettersAlarm",
                           "NotificationsDeadLettersAlarm", "OddsDriftAlarm"}
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
               for m in alarms["FunctionErrorsAlarm"]["Metrics"] if "MetricStat" in m}
    assert watched == set(template.functions(TPL))  # every function, including ones added later


def test_operator_routes_are_throttled_more_strictly_than_buyer_routes():
    api = TPL["Resources"]["HttpApi"]["Properties"]
    admin = {route.route_key for route in template.routes(TPL) if route.path.startswith("/api/v1/admin/")}
    assert admin and set(api["RouteSettings"]) == admin
    assert all(s["ThrottlingRateLimit"] == {"Ref": "AdminThrottlingRateLimit"} for s in api["RouteSettings"].values())
    parameters = TPL["Parameters"]
    assert parameters["AdminThrottlingRateLimit"]["Default"] < parameters["ThrottlingRateLimit"]["Default"]


def test_every_function_logs_to_a_group_with_retention_and_the_api_logs_each_request():
    groups = {str(r["Properties"]["LogGroupName"]["Fn::Sub"]): r["Properties"] for r in TPL["Resources"].values()
              if r["Type"] == "AWS::Logs::LogGroup"}
    for logical_id in template.functions(TPL):
        group = groups.get(f"/aws/lambda/${{{logical_id}}}")
        assert group is not None and group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id
    access = TPL["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    fields = json.loads(access["Format"])
    assert {"requestId", "status", "responseLatency", "authorizerError", "routeKey"} <= set(fields)
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}


def test_functions_are_traced_and_background_consumers_have_reserved_concurrency():
    assert TPL["Globals"]["Function"]["Tracing"] == "Active"
    resources = TPL["Resources"]
    assert resources["ExpireQuotesFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    fulfilment = resources["FulfilmentFunction"]["Properties"]
    mapping = fulfilment["Events"]["Orders"]["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert mapping <= fulfilment["ReservedConcurrentExecutions"]


def test_every_function_that_signs_with_the_quote_key_may_read_it():
    """Quotes, public commitments and record receipts (docs/FAIRNESS.md 13.3, 13.5) are signed wherever a pack is
    quoted, opened or shown to its buyer: each of those functions may read the key's parameter (a function that
    could not would fail after the open had committed)."""
    signers = ("CatalogFunction", "PurchaseFunction", "CheckoutFunction", "OpenPaymentsFunction",
               "StripeWebhookFunction", "ConfirmPaymentFunction", "ExpireQuotesFunction", "BuyerFunction")
    for name in signers:
        policies = TPL["Resources"][name]["Properties"]["Policies"]
        assert "QuoteSigningKeyParameter" in _references(policies), f"{name} cannot read the quote-signing key"
