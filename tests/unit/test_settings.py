import pytest

from packvault.core.settings import ConfigurationError, Settings

WALLET = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
BASE = {"STAGE": "prod", "TABLE_NAME": "packvault-prod", "AUTH_DOMAIN": "shop.example", "SOLANA_CLUSTER": "mainnet"}


def test_reads_and_normalises_the_environment():
    settings = Settings.from_env({**BASE, "PLATFORM_WALLET": WALLET, "DYNAMODB_ENDPOINT": "",
                                  "SOLANA_RPC_URLS": "https://a.example, https://b.example ,"})
    assert settings.stage == "prod"
    assert settings.platform_wallet == WALLET
    assert settings.dynamodb_endpoint is None
    assert settings.solana_rpc_urls == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"STAGE": "production"}, "STAGE"),
        ({"TABLE_NAME": ""}, "TABLE_NAME"),
        ({"PLATFORM_WALLET": "not-a-key"}, "PLATFORM_WALLET"),
        ({"PLATFORM_WALLET": "11111111"}, "PLATFORM_WALLET"),
        ({"SOLANA_RPC_URLS": "ftp://rpc.example"}, "SOLANA_RPC_URLS"),
        ({"DYNAMODB_ENDPOINT": "localhost:8000"}, "DYNAMODB_ENDPOINT"),
    ],
)
def test_a_bad_value_fails_fast_naming_the_variable(override, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env({**BASE, **override})


def test_missing_required_variables_are_named():
    with pytest.raises(ConfigurationError, match=r"STAGE.*TABLE_NAME|TABLE_NAME.*STAGE"):
        Settings.from_env({})


def test_every_setting_is_documented_in_env_example():
    from tests.conftest import ROOT

    documented = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
                  if "=" in line and not line.startswith("#")}
    variables = {field.alias for field in Settings.model_fields.values()}
    assert variables - documented == set()


PROD = {"STAGE": "prod", "TABLE_NAME": "packvault-prod", "AUTH_DOMAIN": "shop.example", "SOLANA_CLUSTER": "mainnet"}


@pytest.mark.parametrize(("override", "named"), [
    ({"JWT_SIGNING_KEY_PARAMETER": "/packvault/dev/jwt-signing-key"}, "JWT_SIGNING_KEY_PARAMETER"),
    ({"QUOTE_SIGNING_KEY_PARAMETER": "/packvault/dev/quote-signing-key"}, "QUOTE_SIGNING_KEY_PARAMETER"),
    ({"RECORD_ANCHOR_KEY_PARAMETER": "/team/dev/anchor"}, "RECORD_ANCHOR_KEY_PARAMETER"),
    ({"AUTH_DOMAIN": "localhost"}, "AUTH_DOMAIN"),
    ({"SOLANA_CLUSTER": "devnet"}, "SOLANA_CLUSTER"),
])
def test_prod_refuses_dev_keys_and_dev_settings_at_start(override, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env({**PROD, **override})
    assert Settings.from_env({**PROD, "STAGE": "dev", **override}).stage == "dev"  # dev may


def test_prod_with_its_own_key_paths_starts():
    settings = Settings.from_env({**PROD, "JWT_SIGNING_KEY_PARAMETER": "/packvault/prod/jwt-signing-key",
                                  "QUOTE_SIGNING_KEY_PARAMETER": "/packvault/prod/quote-signing-key"})
    assert settings.stage == "prod"


def test_a_token_of_one_stage_is_refused_by_another_even_with_the_same_key():
    from packvault.core.errors import PackvaultError
    from packvault.edge import auth
    from packvault_tools.client import Keypair

    key = {"JWT_SIGNING_KEY": "k" * 40}
    dev = Settings.from_env({**PROD, **key, "STAGE": "dev"})
    prod = Settings.from_env({**PROD, **key})
    token = auth.issue_token(dev, Keypair.generate().public_key)["token"]
    assert auth.read_token(dev, token)["stage"] == "dev"
    with pytest.raises(PackvaultError) as refused:
        auth.read_token(prod, token)
    assert refused.value.code == "TOKEN_INVALID"
