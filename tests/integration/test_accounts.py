"""Accounts on DynamoDB Local: passkeys (a software authenticator), email codes (SES on moto's server, the wire
protocol the functions use in AWS), wallet sign-in, linking and unlinking, closing, and every attack the accounts
issue lists. Each refusal is in the one error shape (a PackvaultError with a stable code), and a refused step
writes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from packvault import store
from packvault.accounts import email_codes, passkeys, principal
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import auth, identities
from packvault_tools.client import Keypair
from tests.webauthn_device import SoftPasskey

ORIGIN = "http://localhost:4100"
SENDER = "no-reply@packvault.localhost"


@pytest.fixture(scope="module")
def ses() -> Any:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("sesv2", endpoint_url=endpoint, region_name="us-east-1").create_email_identity(EmailIdentity=SENDER)
    yield endpoint
    server.stop()


@pytest.fixture
def settings(local_table: Settings, ses: str) -> Settings:
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name, "JWT_SIGNING_KEY": "k" * 40,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PASSKEY_RP_ID": "localhost",
                              "PASSKEY_ORIGINS": ORIGIN, "MAIL_FROM": SENDER, "SES_ENDPOINT": ses,
                              "RATE_LIMITS": "false"})


def code_of(call: Any) -> str | None:
    try:
        call()
    except PackvaultError as refused:
        return str(refused.code)
    return None


def inbox(endpoint: str, to: str) -> list[dict[str, Any]]:
    messages = requests.get(f"{endpoint}/moto-api/data.json", timeout=10).json().get("ses", {}).get("Message", [])
    return [m for m in messages if to in m["destinations"]["ToAddresses"]]


def newest_code(endpoint: str, to: str) -> str:
    return inbox(endpoint, to)[-1]["subject"].rsplit(" ", 1)[-1]


def table_rows(settings: Settings) -> int:
    return sum(1 for _ in store.Row.scan())


def passkey_account(settings: Settings) -> tuple[SoftPasskey, str]:
    device = SoftPasskey(ORIGIN)
    options = passkeys.registration_options(settings, passkeys.REGISTER, None, "Ada")["options"]
    return device, passkeys.register(settings, device.create(options))


def sign_in_with(settings: Settings, device: SoftPasskey, **knobs: Any) -> str:
    options = passkeys.authentication_options(settings)["options"]
    return passkeys.authenticate(settings, device.get(options, **knobs))


def wallet_proof(settings: Settings, keypair: Keypair | None = None) -> tuple[Keypair, dict[str, str]]:
    keypair = keypair or Keypair.generate()
    challenge = auth.create_nonce(settings, keypair.public_key)
    return keypair, {"wallet": keypair.public_key, "message": challenge["message"],
                     "signature": keypair.sign(challenge["message"].encode())}


# --- passkeys ------------------------------------------------------------------------------------------------


def test_a_new_passkey_creates_an_account_and_signs_in_to_it(settings):
    device, account_id = passkey_account(settings)
    assert account_id.startswith("acct_") and store.get_account(account_id).created_with == "passkey"
    session = auth.issue_token(settings, sign_in_with(settings, device))
    claims = auth.read_token(settings, session["token"])
    assert claims["sub"] == account_id and "wallet" not in claims and session["wallet"] is None
    stored = store.get_identity("passkey", device.credential_id.hex() and
                                principal.identities(account_id)[0].value)
    assert stored.account_id == account_id and stored.sign_count == 1 and stored.transports == ["internal"]


def test_a_replayed_challenge_is_refused_and_writes_nothing(settings):
    device = SoftPasskey(ORIGIN)
    options = passkeys.registration_options(settings, passkeys.REGISTER, None, None)["options"]
    credential = device.create(options)
    passkeys.register(settings, credential)
    before = table_rows(settings)
    assert code_of(lambda: passkeys.register(settings, credential)) == "CHALLENGE_UNKNOWN"
    login = passkeys.authentication_options(settings)["options"]
    assertion = device.get(login)
    passkeys.authenticate(settings, assertion)
    assert code_of(lambda: passkeys.authenticate(settings, assertion)) == "CHALLENGE_UNKNOWN"
    assert table_rows(settings) == before + 1  # the second challenge's own row, nothing else


def test_an_expired_challenge_is_refused(settings):
    device = SoftPasskey(ORIGIN)
    options = passkeys.authentication_options(settings)["options"]
    row = store.ChallengeRecord.get(f"CHALLENGE#{options['challenge']}", "CHALLENGE")
    row.update(actions=[store.ChallengeRecord.expires_at.set("2000-01-01T00:00:00.000Z")])
    assert code_of(lambda: passkeys.authenticate(settings, device.get(options))) == "CHALLENGE_UNKNOWN"


@pytest.mark.parametrize("knob", [{"origin": "https://evil.example"}, {"origin": "http://127.0.0.1:4100"},
                                  {"rp_id": "evil.example"}, {"verified": False}])
def test_a_registration_from_another_origin_or_rp_or_without_verification_is_refused(settings, knob):
    before = table_rows(settings)
    options = passkeys.registration_options(settings, passkeys.REGISTER, None, None)["options"]
    assert code_of(lambda: passkeys.register(settings, SoftPasskey(ORIGIN).create(options, **knob))) == \
        "PASSKEY_REFUSED"
    assert table_rows(settings) == before + 1  # the spent challenge only: no account, no identity


@pytest.mark.parametrize("knob", [{"origin": "https://evil.example"}, {"rp_id": "evil.example"},
                                  {"verified": False}])
def test_an_assertion_from_another_origin_or_rp_or_without_verification_is_refused(settings, knob):
    device, _ = passkey_account(settings)
    assert code_of(lambda: sign_in_with(settings, device, **knob)) == "PASSKEY_REFUSED"


def test_a_counter_that_goes_backwards_is_refused(settings):
    device, account_id = passkey_account(settings)
    sign_in_with(settings, device, counter=7)
    assert code_of(lambda: sign_in_with(settings, device, counter=7)) == "PASSKEY_REFUSED"
    assert code_of(lambda: sign_in_with(settings, device, counter=3)) == "PASSKEY_REFUSED"
    assert sign_in_with(settings, device, counter=8) == account_id


def test_a_credential_naming_another_account_is_refused(settings):
    device, _ = passkey_account(settings)
    _, other = passkey_account(settings)
    assert code_of(lambda: sign_in_with(settings, device, user_handle=other.encode())) == "PASSKEY_REFUSED"


def test_an_unknown_passkey_is_refused(settings):
    assert code_of(lambda: sign_in_with(settings, SoftPasskey(ORIGIN))) == "PASSKEY_UNKNOWN"


def test_passkeys_are_off_without_a_relying_party(settings):
    bare = settings.model_copy(update={"passkey_rp_id": None})
    assert code_of(lambda: passkeys.authentication_options(bare)) == "PASSKEYS_NOT_CONFIGURED"


# --- email codes ---------------------------------------------------------------------------------------------


def test_an_emailed_code_signs_in_once_and_a_new_address_gets_an_account(settings, ses):
    email = "Ada@Example.com"
    answer = auth.start_email_sign_in(settings, email)
    assert answer["email"] == "ada@example.com" and answer["expires_in"] == 600
    code = newest_code(ses, "ada@example.com")
    assert len(code) == 6 and code not in str(store.get_email_code("ada@example.com").attribute_values)
    session = auth.verify_email_sign_in(settings, email, code)
    account_id = session["account_id"]
    assert account_id.startswith("acct_") and auth.read_token(settings, session["token"])["sub"] == account_id
    assert code_of(lambda: auth.verify_email_sign_in(settings, email, code)) == "CODE_INCORRECT"
    auth.start_email_sign_in(settings, email)
    again = auth.verify_email_sign_in(settings, email, newest_code(ses, "ada@example.com"))
    assert again["account_id"] == account_id


def test_the_start_answer_is_the_same_for_a_known_and_an_unknown_address(settings, ses):
    auth.start_email_sign_in(settings, "known@example.com")
    auth.verify_email_sign_in(settings, "known@example.com", newest_code(ses, "known@example.com"))
    known = auth.start_email_sign_in(settings, "known@example.com")
    unknown = auth.start_email_sign_in(settings, "nobody@example.com")
    assert known.keys() == unknown.keys() and known["status"] == unknown["status"] == "sent"
    assert known["message"] == unknown["message"] and known["expires_in"] == unknown["expires_in"]
    assert len(inbox(ses, "nobody@example.com")) == 1  # a code went out either way


def test_a_code_guessed_six_times_is_used_up_even_by_the_right_guess(settings, ses):
    auth.start_email_sign_in(settings, "guess@example.com")
    right = newest_code(ses, "guess@example.com")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    codes = [code_of(lambda: auth.verify_email_sign_in(settings, "guess@example.com", wrong)) for _ in range(5)]
    assert codes == ["CODE_INCORRECT"] * 5
    assert code_of(lambda: auth.verify_email_sign_in(settings, "guess@example.com", right)) == \
        "CODE_ATTEMPTS_EXHAUSTED"
    assert store.get_identity("email", "guess@example.com") is None


def test_twenty_concurrent_guesses_spend_exactly_five_attempts(settings, ses):
    auth.start_email_sign_in(settings, "race@example.com")
    right = newest_code(ses, "race@example.com")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: code_of(lambda: auth.verify_email_sign_in(
            settings, "race@example.com", wrong)), range(20)))
    assert codes.count("CODE_INCORRECT") == 5
    assert set(codes) <= {"CODE_INCORRECT", "CODE_ATTEMPTS_EXHAUSTED", "BUSY_RETRY"}
    assert int(store.get_email_code("race@example.com").attempts) == 5


def test_an_expired_code_is_refused(settings, ses):
    auth.start_email_sign_in(settings, "late@example.com")
    row = store.get_email_code("late@example.com")
    row.update(actions=[store.EmailCodeRecord.expires_at.set("2000-01-01T00:00:00.000Z")])
    assert code_of(lambda: auth.verify_email_sign_in(settings, "late@example.com",
                                                     newest_code(ses, "late@example.com"))) == "CODE_INCORRECT"


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "x" * 250 + "@example.com", 7, None, "a@@b.com"])
def test_a_malformed_address_is_refused_before_any_mail(settings, email):
    assert code_of(lambda: auth.start_email_sign_in(settings, email)) == "INVALID_EMAIL"


# --- wallets, linking, unlinking -----------------------------------------------------------------------------


def test_a_wallet_sign_in_keeps_the_wallet_as_its_account_id(settings):
    keypair, proof = wallet_proof(settings)
    session = auth.verify_sign_in(settings, **proof)
    assert session["account_id"] == session["wallet"] == keypair.public_key
    assert auth.read_token(settings, session["token"])["wallet"] == keypair.public_key
    assert store.get_account(keypair.public_key).created_with == "wallet"


def test_a_wallet_linked_to_a_passkey_account_signs_in_to_that_account(settings):
    _, account_id = passkey_account(settings)
    keypair, proof = wallet_proof(settings)
    identities.link_wallet(account_id, proof)
    _, again = wallet_proof(settings, keypair)
    assert auth.verify_sign_in(settings, **again)["account_id"] == account_id
    kinds = sorted(i["kind"] for i in principal.identities_view(account_id)["identities"])
    assert kinds == ["passkey", "wallet"]


def test_linking_a_wallet_of_another_account_is_refused_never_merged(settings):
    _, first = passkey_account(settings)
    _, second = passkey_account(settings)
    keypair, proof = wallet_proof(settings)
    identities.link_wallet(first, proof)
    _, again = wallet_proof(settings, keypair)
    assert code_of(lambda: identities.link_wallet(second, again)) == "IDENTITY_TAKEN"
    assert store.get_identity("wallet", keypair.public_key).account_id == first
    assert int(store.get_account(second).identity_count) == 1


def test_a_wallet_that_is_its_own_account_cannot_be_linked_into_another(settings):
    keypair, proof = wallet_proof(settings)
    auth.verify_sign_in(settings, **proof)  # its own account now
    _, account_id = passkey_account(settings)
    _, again = wallet_proof(settings, keypair)
    assert code_of(lambda: identities.link_wallet(account_id, again)) == "IDENTITY_TAKEN"


def test_a_wallet_with_purchases_from_before_accounts_is_never_linked_away(settings):
    keypair = Keypair.generate()
    store.grant_credits(keypair.public_key, 100, "legacy-1", "operator:test", "legacy balance")
    assert store.get_account(keypair.public_key) is None  # no account row: bought before accounts existed
    _, account_id = passkey_account(settings)
    _, proof = wallet_proof(settings, keypair)
    assert code_of(lambda: identities.link_wallet(account_id, proof)) == "IDENTITY_TAKEN"
    principal.require_open(keypair.public_key)  # its old token still works: the implicit account is open


def test_unlinking_the_last_identity_is_refused_and_another_can_go(settings, ses):
    device, account_id = passkey_account(settings)
    credential_id = principal.identities(account_id)[0].value
    assert code_of(lambda: principal.unlink(account_id, "passkey", credential_id)) == "LAST_IDENTITY"
    auth.start_email_sign_in(settings, "two@example.com")
    identities.link_email(settings, account_id, {"email": "two@example.com",
                                                 "code": newest_code(ses, "two@example.com")})
    view = principal.unlink(account_id, "passkey", credential_id)
    assert [i["kind"] for i in view["identities"]] == ["email"]
    assert code_of(lambda: sign_in_with(settings, device)) == "PASSKEY_UNKNOWN"
    assert code_of(lambda: principal.unlink(account_id, "passkey", credential_id)) == "IDENTITY_NOT_FOUND"


def test_a_linked_email_signs_in_to_the_account_it_was_linked_to(settings, ses):
    _, account_id = passkey_account(settings)
    auth.start_email_sign_in(settings, "link@example.com")
    identities.link_email(settings, account_id, {"email": "link@example.com",
                                                 "code": newest_code(ses, "link@example.com")})
    auth.start_email_sign_in(settings, "link@example.com")
    session = auth.verify_email_sign_in(settings, "link@example.com", newest_code(ses, "link@example.com"))
    assert session["account_id"] == account_id


def test_linking_a_second_passkey_to_the_signed_in_account(settings):
    first, account_id = passkey_account(settings)
    second = SoftPasskey(ORIGIN)
    options = passkeys.registration_options(settings, passkeys.LINK, account_id, "laptop")["options"]
    assert [c["id"] for c in options["excludeCredentials"]] == [principal.identities(account_id)[0].value]
    passkeys.register(settings, second.create(options), signed_in=account_id)
    assert sign_in_with(settings, second) == account_id == sign_in_with(settings, first)
    _, intruder = passkey_account(settings)
    stolen = passkeys.registration_options(settings, passkeys.LINK, account_id, None)["options"]
    assert code_of(lambda: passkeys.register(settings, SoftPasskey(ORIGIN).create(stolen), signed_in=intruder)) \
        == "CHALLENGE_UNKNOWN"


# --- closing, roles, payers ----------------------------------------------------------------------------------


def test_a_closed_account_refuses_its_tokens_and_its_sign_ins(settings):
    device, account_id = passkey_account(settings)
    principal.close(account_id, "asked to by the buyer")
    assert code_of(lambda: principal.require_open(account_id)) == "ACCOUNT_CLOSED"
    assert code_of(lambda: sign_in_with(settings, device)) == "ACCOUNT_CLOSED"
    assert code_of(lambda: principal.require_open("acct_" + "a" * 24)) == "TOKEN_INVALID"  # never existed
    assert [e.event_type for e in store.events_of(store.account_pk(account_id))] == ["ACCOUNT_CREATED",
                                                                                     "ACCOUNT_CLOSED"]


def test_an_operator_role_can_name_a_linked_email(settings, ses):
    _, account_id = passkey_account(settings)
    auth.start_email_sign_in(settings, "ops@example.com")
    identities.link_email(settings, account_id, {"email": "ops@example.com",
                                                 "code": newest_code(ses, "ops@example.com")})
    staffed = settings.model_copy(update={"operator_roles": "email:ops@example.com=support"})
    assert auth.issue_token(staffed, account_id)["role"] == "support"
    assert "role" not in auth.issue_token(settings, account_id)


def test_the_solana_payer_is_a_linked_wallet(settings):
    _, account_id = passkey_account(settings)
    assert code_of(lambda: principal.payer_wallet(account_id, None, None)) == "WALLET_REQUIRED"
    keypair, proof = wallet_proof(settings)
    identities.link_wallet(account_id, proof)
    assert principal.payer_wallet(account_id, None, None) == keypair.public_key
    assert code_of(lambda: principal.payer_wallet(account_id, Keypair.generate().public_key, None)) == \
        "PAYER_WALLET_NOT_LINKED"
    second, proof = wallet_proof(settings)
    identities.link_wallet(account_id, proof)
    assert code_of(lambda: principal.payer_wallet(account_id, None, None)) == "PAYER_WALLET_REQUIRED"
    assert principal.payer_wallet(account_id, second.public_key, None) == second.public_key
    assert principal.payer_wallet(account_id, None, keypair.public_key) == keypair.public_key


def test_email_codes_are_stored_only_as_keyed_hashes(settings, ses):
    auth.start_email_sign_in(settings, "hash@example.com")
    code = newest_code(ses, "hash@example.com")
    row = store.get_email_code("hash@example.com")
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert email_codes.MAX_ATTEMPTS == 5 and row.attempts == 0
