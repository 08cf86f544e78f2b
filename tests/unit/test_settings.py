import pytest

from packvault.settings import ConfigurationError, Settings

WALLET = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
BASE = {"STAGE": "prod", "TABLE_NAME": "packvault-prod"}


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
