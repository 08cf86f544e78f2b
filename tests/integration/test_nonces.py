"""Sign-in nonces on DynamoDB Local: one use, one wallet, one exact message, before expiry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from packvault import store
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.core.times import iso_seconds
from packvault.edge import auth
from packvault_tools.client import Keypair


@pytest.fixture
def settings(local_table):
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name, "JWT_SIGNING_KEY": "k" * 40,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint})


def signed_challenge(settings):
    keypair = Keypair.generate()
    challenge = auth.create_nonce(settings, keypair.public_key)
    return keypair, challenge, keypair.sign(challenge["message"].encode())


def code_of(call) -> str | None:
    try:
        call()
    except PackvaultError as refused:
        return str(refused.code)
    return None


def test_a_signed_nonce_gives_a_token_once(settings):
    keypair, challenge, signature = signed_challenge(settings)
    session = auth.verify_sign_in(settings, keypair.public_key, challenge["message"], signature)
    assert auth.read_token(settings, session["token"])["sub"] == keypair.public_key
    again = code_of(lambda: auth.verify_sign_in(settings, keypair.public_key, challenge["message"], signature))
    assert again == "NONCE_USED"


def test_twenty_concurrent_uses_of_one_nonce_give_exactly_one_token(settings):
    keypair, challenge, signature = signed_challenge(settings)
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: code_of(
            lambda: auth.verify_sign_in(settings, keypair.public_key, challenge["message"], signature)), range(20)))
    assert codes.count(None) == 1
    assert codes.count("NONCE_USED") == 19


def test_another_wallets_nonce_is_refused_even_when_signed_correctly(settings):
    _, challenge, _ = signed_challenge(settings)
    intruder = Keypair.generate()
    signature = intruder.sign(challenge["message"].encode())
    assert code_of(lambda: auth.verify_sign_in(settings, intruder.public_key, challenge["message"],
                                               signature)) == "NONCE_UNKNOWN"


def test_a_changed_message_is_refused(settings):
    keypair, challenge, _ = signed_challenge(settings)
    changed = challenge["message"].replace("Version: 1", "Version: 2")
    assert code_of(lambda: auth.verify_sign_in(settings, keypair.public_key, changed,
                                               keypair.sign(changed.encode()))) == "NONCE_UNKNOWN"


def test_an_expired_nonce_is_refused_by_its_stored_time(settings):
    keypair = Keypair.generate()
    past = datetime.now(UTC) - timedelta(minutes=10)
    message = auth.sign_in_message(settings, keypair.public_key, "feedfacefeedface0001", past,
                                   past + timedelta(minutes=5))
    store.put_nonce("feedfacefeedface0001", keypair.public_key, message, iso_seconds(past),
                    iso_seconds(past + timedelta(minutes=5)))
    assert code_of(lambda: auth.verify_sign_in(settings, keypair.public_key, message,
                                               keypair.sign(message.encode()))) == "NONCE_EXPIRED"


def test_nonce_rows_carry_a_cleanup_ttl_after_their_expiry(settings):
    _, challenge, _ = signed_challenge(settings)
    row = store.NonceRecord.get(f"NONCE#{challenge['nonce']}", "NONCE")
    expires = datetime.fromisoformat(challenge["expires_at"].replace("Z", "+00:00"))
    assert row.ttl > expires.timestamp()
