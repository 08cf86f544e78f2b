"""Deploy safety: `make deploy` keeps samconfig's overrides (a bare --parameter-overrides replaces them, Stage
included), a prod deploy must name what prod needs, and the template's Rules refuse dev keys and settings in prod."""

from __future__ import annotations

import pytest

from local import template
from packvault_tools import deploy

PROD_ARGS = ["PlatformWallet=9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "AuthDomain=shop.example.com",
             "CorsAllowOrigins=https://shop.example.com", "RecordAnchorKeyParameter=/packvault/prod/anchor-key",
             "CheckoutReturnOrigins=https://shop.example.com"]


def test_samconfigs_values_are_kept_and_the_given_ones_added():
    merged = deploy.merged_overrides("prod", PROD_ARGS)
    assert merged["Stage"] == "prod" and merged["SolanaCluster"] == "mainnet" and merged["LogLevel"] == "INFO"
    assert merged["PlatformWallet"].startswith("9Wz")
    assert deploy.merged_overrides("dev", ["PlatformWallet=x"])["Stage"] == "dev"


def test_a_prod_deploy_missing_what_prod_needs_is_refused_before_anything_is_sent():
    with pytest.raises(ValueError, match="AuthDomain"):
        deploy.merged_overrides("prod", [a for a in PROD_ARGS if not a.startswith("AuthDomain")])


def test_a_stage_override_that_contradicts_the_environment_is_refused():
    with pytest.raises(ValueError, match="Stage=dev"):
        deploy.merged_overrides("prod", [*PROD_ARGS, "Stage=dev"])


def test_the_command_is_sam_deploy_with_every_override():
    run = deploy.command("prod", PROD_ARGS, "sam")
    assert run[:5] == ["sam", "deploy", "--config-env", "prod", "--parameter-overrides"]
    assert "Stage=prod" in run and "AuthDomain=shop.example.com" in run


def test_the_templates_prod_rules_cover_dev_keys_and_dev_settings():
    rule = template.load()["Rules"]["ProdIsNotDev"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    asserted = str(rule["Assertions"])
    for name in ("JwtSigningKeyParameter", "QuoteSigningKeyParameter", "AuthDomain", "SolanaCluster",
                 "CorsAllowOrigins", "PlatformWallet", "RecordAnchorKeyParameter", "DevPaymentBypass"):
        assert name in asserted


def test_key_parameters_default_to_the_stages_own_path():
    tpl = template.load()
    for name in ("JwtSigningKeyParameter", "QuoteSigningKeyParameter"):
        assert tpl["Parameters"][name]["Default"] == ""
    environment = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["JWT_SIGNING_KEY_PARAMETER"]["Fn::If"][1] == {"Fn::Sub": "/packvault/${Stage}/jwt-signing-key"}
