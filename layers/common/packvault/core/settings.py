"""Configuration from environment variables, validated once per container at cold start.

A bad value stops the container with a message naming the variable; nothing limps on misconfigured.
Every variable is documented in .env.example.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from packvault.core.keys import is_account_id, is_public_key


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable configuration."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Literal["dev", "staging", "prod"] = Field(alias="STAGE")
    table_name: str = Field(alias="TABLE_NAME", min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    aws_region: str = Field(alias="AWS_REGION", default="us-east-1", min_length=1)
    dynamodb_endpoint: str | None = Field(alias="DYNAMODB_ENDPOINT", default=None)
    platform_wallet: str | None = Field(alias="PLATFORM_WALLET", default=None)
    solana_rpc_urls: tuple[str, ...] = Field(alias="SOLANA_RPC_URLS", default=())
    solana_cluster: Literal["mainnet", "devnet", "testnet", "localnet"] = Field(alias="SOLANA_CLUSTER",
                                                                                default="devnet")
    auth_domain: str = Field(alias="AUTH_DOMAIN", default="localhost", min_length=1, max_length=253,
                             pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
    auth_nonce_ttl_seconds: int = Field(alias="AUTH_NONCE_TTL_SECONDS", default=300, ge=30, le=3600)
    auth_token_ttl_seconds: int = Field(alias="AUTH_TOKEN_TTL_SECONDS", default=900, ge=60, le=86400)
    token_mints: dict[str, str] = Field(alias="TOKEN_MINTS", default_factory=dict)
    solana_commitment: Literal["confirmed", "finalized"] = Field(alias="SOLANA_COMMITMENT", default="confirmed")
    solana_max_transaction_version: int = Field(alias="SOLANA_MAX_TX_VERSION", default=0, ge=0, le=1)
    payment_tolerance_lamports: int = Field(alias="PAYMENT_TOLERANCE_LAMPORTS", default=0, ge=0, le=10**9)
    dev_payment_bypass: bool = Field(alias="DEV_PAYMENT_BYPASS", default=False)
    expiry_grace_seconds: int = Field(alias="EXPIRY_GRACE_SECONDS", default=60, ge=0, le=3600)
    late_payment_watch_hours: int = Field(alias="LATE_PAYMENT_WATCH_HOURS", default=24, ge=0, le=720)
    honour_late_payments: bool = Field(alias="HONOUR_LATE_PAYMENTS", default=True)
    sweep_batch_size: int = Field(alias="SWEEP_BATCH_SIZE", default=100, ge=1, le=1000)
    quote_ttl_seconds: int = Field(alias="QUOTE_TTL_SECONDS", default=600, ge=60, le=3600)
    max_open_quotes: int = Field(alias="MAX_OPEN_QUOTES", default=10, ge=1, le=100)  # in packs (a bundle: each)
    expiry_shards: int = Field(alias="EXPIRY_SHARDS", default=16, ge=1, le=256)
    jwt_signing_key: SecretStr | None = Field(alias="JWT_SIGNING_KEY", default=None)
    jwt_signing_key_parameter: str | None = Field(alias="JWT_SIGNING_KEY_PARAMETER", default=None)
    quote_signing_key: SecretStr | None = Field(alias="QUOTE_SIGNING_KEY", default=None)
    quote_signing_key_parameter: str | None = Field(alias="QUOTE_SIGNING_KEY_PARAMETER", default=None)
    stripe_secret_key: SecretStr | None = Field(alias="STRIPE_SECRET_KEY", default=None)
    stripe_secret_key_parameter: str | None = Field(alias="STRIPE_SECRET_KEY_PARAMETER", default=None)
    stripe_webhook_secret: SecretStr | None = Field(alias="STRIPE_WEBHOOK_SECRET", default=None)
    stripe_webhook_secret_parameter: str | None = Field(alias="STRIPE_WEBHOOK_SECRET_PARAMETER", default=None)
    stripe_api_base: str | None = Field(alias="STRIPE_API_BASE", default=None)
    checkout_return_origins: tuple[str, ...] = Field(alias="CHECKOUT_RETURN_ORIGINS", default=())
    buyback_rate: str = Field(alias="BUYBACK_RATE", default="0.85", pattern=r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$")
    buyback_window_hours: int = Field(alias="BUYBACK_WINDOW_HOURS", default=72, ge=0, le=87600)
    checkout_session_ttl_seconds: int = Field(alias="CHECKOUT_SESSION_TTL_SECONDS", default=1800, ge=1800, le=86400)
    operator_roles: str | None = Field(alias="OPERATOR_ROLES", default=None)
    operator_roles_parameter: str | None = Field(alias="OPERATOR_ROLES_PARAMETER", default=None)
    allowed_origins: tuple[str, ...] = Field(alias="ALLOWED_ORIGINS", default=())
    rate_limits: bool = Field(alias="RATE_LIMITS", default=True)
    fulfilment_queue_url: str | None = Field(alias="FULFILMENT_QUEUE_URL", default=None)
    sqs_endpoint: str | None = Field(alias="SQS_ENDPOINT", default=None)
    vendor_api_url: str | None = Field(alias="VENDOR_API_URL", default=None)
    vendor_api_key: SecretStr | None = Field(alias="VENDOR_API_KEY", default=None)
    vendor_api_key_parameter: str | None = Field(alias="VENDOR_API_KEY_PARAMETER", default=None)
    topup_payment_max_age_seconds: int = Field(alias="TOPUP_PAYMENT_MAX_AGE_SECONDS", default=3600, ge=60,
                                               le=7 * 86400)
    topup_amount_tolerance: str = Field(alias="TOPUP_AMOUNT_TOLERANCE", default="0.0001",
                                        pattern=r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$")
    open_payments_wallet_address: str | None = Field(alias="OPEN_PAYMENTS_WALLET_ADDRESS", default=None)
    open_payments_key_id: str | None = Field(alias="OPEN_PAYMENTS_KEY_ID", default=None, max_length=128)
    open_payments_private_key: SecretStr | None = Field(alias="OPEN_PAYMENTS_PRIVATE_KEY", default=None)
    open_payments_private_key_parameter: str | None = Field(alias="OPEN_PAYMENTS_PRIVATE_KEY_PARAMETER",
                                                            default=None)
    open_payments_finish_url: str | None = Field(alias="OPEN_PAYMENTS_FINISH_URL", default=None)
    open_payments_result_url: str | None = Field(alias="OPEN_PAYMENTS_RESULT_URL", default=None)
    open_payments_ttl_seconds: int = Field(alias="OPEN_PAYMENTS_TTL_SECONDS", default=900, ge=120, le=86400)
    open_payments_allow_http: bool = Field(alias="OPEN_PAYMENTS_ALLOW_HTTP", default=False)
    record_anchor_key: SecretStr | None = Field(alias="RECORD_ANCHOR_KEY", default=None)
    record_anchor_key_parameter: str | None = Field(alias="RECORD_ANCHOR_KEY_PARAMETER", default=None)
    fulfilment_max_attempts: int = Field(alias="FULFILMENT_MAX_ATTEMPTS", default=5, ge=1, le=50)
    passkey_rp_id: str | None = Field(alias="PASSKEY_RP_ID", default=None, max_length=253,
                                      pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    passkey_rp_name: str = Field(alias="PASSKEY_RP_NAME", default="Packvault", min_length=1, max_length=64)
    passkey_origins: tuple[str, ...] = Field(alias="PASSKEY_ORIGINS", default=())
    passkey_challenge_ttl_seconds: int = Field(alias="PASSKEY_CHALLENGE_TTL_SECONDS", default=300, ge=30, le=600)
    mail_from: str | None = Field(alias="MAIL_FROM", default=None, max_length=254,
                                  pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ses_endpoint: str | None = Field(alias="SES_ENDPOINT", default=None)
    email_code_ttl_seconds: int = Field(alias="EMAIL_CODE_TTL_SECONDS", default=600, ge=60, le=600)
    notifications_queue_url: str | None = Field(alias="NOTIFICATIONS_QUEUE_URL", default=None)
    notifications_dead_letter_url: str | None = Field(alias="NOTIFICATIONS_DEAD_LETTER_URL", default=None)
    webhooks_allow_private: bool = Field(alias="WEBHOOKS_ALLOW_PRIVATE", default=False)

    @field_validator("dynamodb_endpoint", "platform_wallet", "jwt_signing_key", "jwt_signing_key_parameter",
                     "stripe_secret_key", "stripe_secret_key_parameter", "stripe_webhook_secret",
                     "stripe_webhook_secret_parameter", "stripe_api_base", "operator_roles",
                     "operator_roles_parameter", "fulfilment_queue_url", "sqs_endpoint", "vendor_api_url",
                     "vendor_api_key", "vendor_api_key_parameter", "quote_signing_key",
                     "quote_signing_key_parameter", "open_payments_wallet_address", "open_payments_key_id",
                     "open_payments_private_key", "open_payments_private_key_parameter", "open_payments_finish_url",
                     "open_payments_result_url", "record_anchor_key", "record_anchor_key_parameter",
                     "passkey_rp_id", "mail_from", "ses_endpoint", "notifications_queue_url",
                     "notifications_dead_letter_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dynamodb_endpoint", "stripe_api_base", "sqs_endpoint", "ses_endpoint", "vendor_api_url",
                     "fulfilment_queue_url",
                     "open_payments_wallet_address", "open_payments_finish_url", "open_payments_result_url")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("jwt_signing_key")
    @classmethod
    def _key_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (HS256 needs a 256-bit key)")
        return value

    @field_validator("platform_wallet")
    @classmethod
    def _wallet_is_public_key(cls, value: str | None) -> str | None:
        if value is not None and not is_public_key(value):
            raise ValueError("must be a base58 Solana public key (32 bytes)")
        return value

    @field_validator("token_mints", mode="before")
    @classmethod
    def _parse_mints(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("must look like USDC=<mint>,USDT=<mint>")
            return {symbol.strip().upper(): mint.strip() for symbol, mint in pairs}
        return value

    @field_validator("token_mints")
    @classmethod
    def _mints_are_known_tokens(cls, value: dict[str, str]) -> dict[str, str]:
        for symbol, mint in value.items():
            if symbol not in {"USDC", "USDT"}:
                raise ValueError(f"{symbol}: only USDC and USDT are token currencies")
            if not is_public_key(mint):
                raise ValueError(f"{symbol}: {mint!r} is not a base58 mint address")
        return value

    @field_validator("operator_roles")
    @classmethod
    def _roles_parse(cls, value: str | None) -> str | None:
        if value is not None:
            parse_operator_roles(value)
        return value

    @field_validator("checkout_return_origins", "allowed_origins", "passkey_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _allowed_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return value if value == ("*",) else _check_origins(value)

    @field_validator("checkout_return_origins", "passkey_origins")
    @classmethod
    def _origins_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_origins(value)

    @field_validator("stripe_secret_key")
    @classmethod
    def _is_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret or restricted key (sk_... or rk_...)")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _is_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must be a Stripe webhook signing secret (whsec_...)")
        return value

    @field_validator("solana_rpc_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(url.strip() for url in value.split(",") if url.strip())
        return value

    @field_validator("solana_rpc_urls")
    @classmethod
    def _urls_are_http(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _private_webhooks_only_in_dev(self) -> Settings:
        if self.webhooks_allow_private and self.stage != "dev":
            raise ValueError(f"WEBHOOKS_ALLOW_PRIVATE is on but STAGE is {self.stage}: webhooks to private addresses "
                             "are allowed only when STAGE=dev")
        return self

    @model_validator(mode="after")
    def _bypass_only_in_dev(self) -> Settings:
        if self.dev_payment_bypass and self.stage != "dev":
            raise ValueError(f"DEV_PAYMENT_BYPASS is on but STAGE is {self.stage}: the payment bypass is allowed "
                             "only when STAGE=dev")
        return self

    @model_validator(mode="after")
    def _plain_http_wallets_only_in_dev(self) -> Settings:
        if self.open_payments_allow_http and self.stage != "dev":
            raise ValueError(f"OPEN_PAYMENTS_ALLOW_HTTP is on but STAGE is {self.stage}: plain-http and local wallet "
                             "addresses are allowed only when STAGE=dev")
        return self

    @model_validator(mode="after")
    def _no_dev_keys_or_settings_in_prod(self) -> Settings:
        """A prod function refuses to start with another stage's key paths or dev settings, whatever the template
        let through: a dev token or a dev-held key must never work in prod."""
        if self.stage != "prod":
            return self
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if name.endswith("_parameter") and isinstance(value, str) and not value.startswith("/packvault/prod/") \
                    and "/dev/" in value:
                raise ValueError(f"{field.alias} is {value!r} but STAGE is prod: prod reads no /dev/ parameter")
        if self.auth_domain in {"localhost", "127.0.0.1"}:
            raise ValueError("AUTH_DOMAIN is localhost but STAGE is prod: sign-in messages must name the public host")
        if self.solana_cluster != "mainnet":
            raise ValueError(f"SOLANA_CLUSTER is {self.solana_cluster} but STAGE is prod")
        return self

    @model_validator(mode="after")
    def _live_keys_only_in_prod(self) -> Settings:
        key = self.stripe_secret_key.get_secret_value() if self.stripe_secret_key else ""
        if key.startswith(("sk_live_", "rk_live_")) and self.stage != "prod":
            raise ValueError(f"STRIPE_SECRET_KEY is a live key but STAGE is {self.stage}: live keys belong to prod")
        return self

    @property
    def buyback_bp(self) -> int:
        """BUYBACK_RATE in basis points (0.85 -> 8500): exact, no float."""
        from packvault.core.money import basis_points

        return basis_points(self.buyback_rate)

    @property
    def stripe_livemode(self) -> bool:
        """Events from Stripe must say livemode=true in prod and false anywhere else."""
        return self.stage == "prod"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "configuration"
        problems.append(f"{name}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def _check_origins(value: tuple[str, ...]) -> tuple[str, ...]:
    from urllib.parse import urlsplit

    for origin in value:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
            raise ValueError(f"{origin!r} is not an origin like https://shop.example.com")
    return value


OPERATOR_ROLE_NAMES = ("admin", "support")


def parse_operator_roles(text: str) -> dict[str, str]:
    """'<who>=admin,<who>=support' -> {who: role}, where <who> is a wallet address, an account id (acct_...) or
    email:<address> (an identity linked to the operator's account). ValueError names what is wrong."""
    roles: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        who, separator, role = (piece.strip() for piece in entry.partition("="))
        if not separator or role not in OPERATOR_ROLE_NAMES:
            raise ValueError(f"{entry!r}: each entry is <wallet|account id|email:address>=admin or ...=support")
        if who.startswith("email:"):
            who = "email:" + who.removeprefix("email:").strip().lower()
            if not _OPERATOR_EMAIL.match(who):
                raise ValueError(f"{who!r} is not email:<address>")
        elif not is_account_id(who):
            raise ValueError(f"{who!r} is not a base58 Solana public key, an account id or email:<address>")
        roles[who] = role
    return roles


_OPERATOR_EMAIL = re.compile(r"^email:[^@\s,=]+@[^@\s,=]+\.[^@\s,=]+$")


def require_platform_wallet(settings: Settings) -> str:
    """Functions that quote or verify payments cannot run without the platform wallet."""
    if settings.platform_wallet is None:
        raise ConfigurationError("PLATFORM_WALLET must be set: it is the wallet that receives payments")
    return settings.platform_wallet


@cache
def get_settings() -> Settings:
    """The process's settings, read from os.environ the first time they are asked for."""
    return Settings.from_env(os.environ)
