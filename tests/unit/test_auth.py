"""Sign-in messages, wallet signatures and access tokens (pure: no database)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import ConfigurationError, Settings
from packvault.edge import auth
from packvault_tools.client import Keypair

SETTINGS = Settings.from_env({"STAGE": "dev", "TABLE_NAME": "t-auth", "AUTH_DOMAIN": "shop.example",
                              "SOLANA_CLUSTER": "mainnet", "JWT_SIGNING_KEY": "k" * 40})


def test_message_names_domain_wallet_cluster_nonce_and_times():
    wallet = Keypair.generate().public_key
    message = auth.sign_in_message(SETTINGS, wallet, "abc123abc123abc123", datetime(2026, 1, 1, tzinfo=UTC),
                                   datetime(2026, 1, 1, 0, 5, tzinfo=UTC))
    assert message.splitlines()[:2] == ["shop.example wants you to sign in with your Solana account:", wallet]
    assert "Chain ID: mainnet" in message and "Nonce: abc123abc123abc123" in message
    assert message.endswith("Issued At: 2026-01-01T00:00:00Z\nExpiration Time: 2026-01-01T00:05:00Z")


def test_signature_binds_wallet_and_exact_message():
    keypair, other = Keypair.generate(), Keypair.generate()
    signature = keypair.sign(b"hello")
    assert auth.signed_by(keypair.public_key, "hello", signature)
    assert not auth.signed_by(keypair.public_key, "hello!", signature)
    assert not auth.signed_by(other.public_key, "hello", signature)


def test_token_round_trip_names_the_wallet():
    wallet = Keypair.generate().public_key
    session = auth.issue_token(SETTINGS, wallet)
    claims = auth.read_token(SETTINGS, session["token"])
    assert claims["sub"] == wallet and session["token_type"] == "Bearer"
    assert claims["exp"] - claims["iat"] == SETTINGS.auth_token_ttl_seconds


def forged(claims: dict, key: str = "k" * 40, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, None if algorithm == "none" else key, algorithm=algorithm)


def claims_for(wallet: str, **changes) -> dict:
    now = int(time.time())
    return {"sub": wallet, "iss": "packvault", "aud": "packvault-api:dev", "iat": now, "exp": now + 60, **changes}


@pytest.mark.parametrize(
    ("token_maker", "code"),
    [
        (lambda w: forged(claims_for(w, exp=int(time.time()) - 1)), ErrorCode.TOKEN_EXPIRED),
        (lambda w: forged(claims_for(w), key="x" * 40), ErrorCode.TOKEN_INVALID),
        (lambda w: forged(claims_for(w), algorithm="none"), ErrorCode.TOKEN_INVALID),
        (lambda w: forged(claims_for(w, aud="elsewhere")), ErrorCode.TOKEN_INVALID),
        (lambda w: forged(claims_for(w, iss="someone")), ErrorCode.TOKEN_INVALID),
        (lambda w: forged(claims_for("not-a-wallet")), ErrorCode.TOKEN_INVALID),
        (lambda w: forged({k: v for k, v in claims_for(w).items() if k != "exp"}), ErrorCode.TOKEN_INVALID),
        (lambda w: "not.a.token", ErrorCode.TOKEN_INVALID),
    ],
    ids=["expired", "other key", "alg none", "audience", "issuer", "bad subject", "no exp", "garbage"],
)
def test_bad_tokens_are_refused_with_a_precise_code(token_maker, code):
    with pytest.raises(PackvaultError) as refused:
        auth.read_token(SETTINGS, token_maker(Keypair.generate().public_key))
    assert refused.value.code == code and refused.value.status == 401


def test_tampered_payload_is_refused():
    token = auth.issue_token(SETTINGS, Keypair.generate().public_key)["token"]
    header, _, signature = token.split(".")
    other = auth.issue_token(SETTINGS, Keypair.generate().public_key)["token"].split(".")[1]
    with pytest.raises(PackvaultError, match="TOKEN_INVALID"):
        auth.read_token(SETTINGS, f"{header}.{other}.{signature}")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token abc"])
def test_authorization_header_must_be_a_bearer_token(header):
    with pytest.raises(PackvaultError, match="AUTH_REQUIRED"):
        auth.bearer_token(header)


@pytest.mark.parametrize(
    ("wallet", "message", "signature", "code"),
    [
        ("nope", "m", "s", ErrorCode.INVALID_WALLET),
        (None, "m", "s", ErrorCode.INVALID_WALLET),
        ("11111111111111111111111111111111", "m", "short", ErrorCode.INVALID_SIGNATURE),
        ("11111111111111111111111111111111", "no nonce here", "1" * 88, ErrorCode.INVALID_SIGNATURE),
    ],
)
def test_malformed_sign_in_input_is_a_400(wallet, message, signature, code):
    with pytest.raises(PackvaultError) as refused:
        auth.verify_sign_in(SETTINGS, wallet, message, signature)
    assert refused.value.code == code and refused.value.status == 400


def test_message_without_a_nonce_is_a_400():
    keypair = Keypair.generate()
    with pytest.raises(PackvaultError, match="INVALID_MESSAGE"):
        auth.verify_sign_in(SETTINGS, keypair.public_key, "hello", keypair.sign(b"hello"))


def test_short_or_missing_signing_key_fails_at_configuration():
    with pytest.raises(ConfigurationError, match="JWT_SIGNING_KEY"):
        Settings.from_env({"STAGE": "dev", "TABLE_NAME": "ttt", "JWT_SIGNING_KEY": "short"})
    with pytest.raises(ConfigurationError, match="JWT_SIGNING_KEY"):
        auth.signing_key(Settings.from_env({"STAGE": "dev", "TABLE_NAME": "ttt"}))
