"""Sign-in and the buyer's own views over HTTP on the local stack, with the attacks the issue lists."""

from __future__ import annotations

import os
import time
import uuid

import jwt
import pytest
import requests

from packvault import store
from packvault_tools.client import ApiError, Keypair, PackvaultClient


def post(api, path, body, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = requests.post(f"{api}{path}", json=body, headers=headers, timeout=10)
    return response.status_code, response.json()


def get(api, path, token=None, headers=None):
    all_headers = {**({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    response = requests.get(f"{api}{path}", headers=all_headers, timeout=10)
    return response.status_code, response.json()


@pytest.fixture
def buyer(api):
    keypair = Keypair.generate()
    client = PackvaultClient(api)
    client.sign_in(keypair)
    return keypair, client.token


def test_a_fresh_keypair_signs_in_and_reads_its_empty_vault(api, buyer):
    _, token = buyer
    status, vault = get(api, "/api/v1/me/vault", token)
    assert status == 200
    assert vault == {"items": [], "next_cursor": None, "item_count": 0, "total_fmv": "0"}
    status, openings = get(api, "/api/v1/me/openings", token)
    assert (status, openings) == (200, {"openings": [], "next_cursor": None})


def test_the_cli_prints_a_token_for_a_keypair_file(api, tmp_path):
    from packvault_tools.cli import main

    keyfile = tmp_path / "buyer.json"
    assert main(["keygen", str(keyfile)]) == 0
    assert main(["keygen", str(keyfile)]) == 1  # never overwrites a keypair
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert main(["login", "--keypair", str(keyfile), "--api", api]) == 0


@pytest.mark.parametrize("wallet", ["", "abc", "0OIl" * 11, 42])
def test_malformed_wallet_is_400(api, wallet):
    status, body = post(api, "/api/v1/auth/nonce", {"wallet": wallet})
    assert (status, body["error"]["code"]) == (400, "INVALID_WALLET")


def test_malformed_json_is_400(api):
    response = requests.post(f"{api}/api/v1/auth/nonce", data="{nope", timeout=10,
                             headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_JSON")


def test_malformed_signature_is_400(api):
    keypair = Keypair.generate()
    _, challenge = post(api, "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    status, body = post(api, "/api/v1/auth/verify", {"wallet": keypair.public_key, "message": challenge["message"],
                                                     "signature": "not-base58-0OIl"})
    assert (status, body["error"]["code"]) == (400, "INVALID_SIGNATURE")


def test_signature_by_another_key_is_401(api):
    keypair, other = Keypair.generate(), Keypair.generate()
    _, challenge = post(api, "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    status, body = post(api, "/api/v1/auth/verify", {"wallet": keypair.public_key, "message": challenge["message"],
                                                     "signature": other.sign(challenge["message"].encode())})
    assert (status, body["error"]["code"]) == (401, "SIGNATURE_MISMATCH")


def test_changed_message_is_401(api):
    keypair = Keypair.generate()
    _, challenge = post(api, "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    changed = challenge["message"].replace("Sign in to Packvault", "Sign in to Packvau1t")
    status, body = post(api, "/api/v1/auth/verify", {"wallet": keypair.public_key, "message": changed,
                                                     "signature": keypair.sign(changed.encode())})
    assert (status, body["error"]["code"]) == (401, "NONCE_UNKNOWN")


def test_reused_nonce_is_401(api):
    keypair = Keypair.generate()
    _, challenge = post(api, "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    body = {"wallet": keypair.public_key, "message": challenge["message"],
            "signature": keypair.sign(challenge["message"].encode())}
    assert post(api, "/api/v1/auth/verify", body)[0] == 200
    status, refused = post(api, "/api/v1/auth/verify", body)
    assert (status, refused["error"]["code"]) == (401, "NONCE_USED")


def test_expired_nonce_is_401(api, stack_store):
    keypair = Keypair.generate()
    _, challenge = post(api, "/api/v1/auth/nonce", {"wallet": keypair.public_key})
    row = store.NonceRecord.get(f"NONCE#{challenge['nonce']}", "NONCE")
    row.update(actions=[store.NonceRecord.expires_at.set("2020-01-01T00:00:00Z")])  # as if time had passed
    status, body = post(api, "/api/v1/auth/verify", {"wallet": keypair.public_key, "message": challenge["message"],
                                                     "signature": keypair.sign(challenge["message"].encode())})
    assert (status, body["error"]["code"]) == (401, "NONCE_EXPIRED")


def token_with(wallet, key=None, algorithm="HS256", **changes):
    now = int(time.time())
    claims = {"sub": wallet, "iss": "packvault", "aud": "packvault-api:dev", "iat": now, "exp": now + 300, **changes}
    signing_key = None if algorithm == "none" else (key or os.environ["JWT_SIGNING_KEY"])
    return jwt.encode(claims, signing_key, algorithm=algorithm)


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda w, t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), "TOKEN_INVALID"),
        (lambda w, t: token_with(w, exp=int(time.time()) - 5), "TOKEN_EXPIRED"),
        (lambda w, t: token_with(w, key="another-key-another-key-another-key-0"), "TOKEN_INVALID"),
        (lambda w, t: token_with(w, algorithm="none"), "TOKEN_INVALID"),
        (lambda w, t: "Basic-not-a-jwt", "TOKEN_INVALID"),
    ],
    ids=["tampered", "expired", "wrongly signed", "alg none", "garbage"],
)
def test_bad_tokens_are_401_in_the_error_shape(api, buyer, make_token, code):
    keypair, token = buyer
    status, body = get(api, "/api/v1/me/vault", make_token(keypair.public_key, token))
    assert status == 401
    assert body["error"]["code"] == code and body["error"]["message"]


def test_no_authorization_header_is_401(api):
    status, _ = get(api, "/api/v1/me/vault")
    assert status == 401


def test_bad_paging_input_is_400(api, buyer):
    _, token = buyer
    assert get(api, "/api/v1/me/vault?limit=0", token)[1]["error"]["code"] == "INVALID_LIMIT"
    assert get(api, "/api/v1/me/openings?cursor=garbage", token)[1]["error"]["code"] == "INVALID_CURSOR"


def put_opening(wallet: str, status: str = "QUOTED", created_at: str | None = None) -> str:
    opening_id = str(uuid.uuid4())
    now = created_at or store.utc_now_iso()
    store.OpeningRecord(
        pk=store.opening_pk(opening_id), sk=store.OPENING_SORT_KEY, gsi1pk=store.wallet_openings_key(wallet),
        gsi1sk=f"{now}#{opening_id}", opening_id=opening_id, wallet=wallet, pack_id="starter-unlimited",
        pack_name="Starter Pack", cards_per_pack=3, status=status, currency="SOL",
        amount_base_units="50000000", receiver_wallet=wallet, reference=wallet, quote_expires_at=now,
        server_seed="ab" * 32, server_seed_hash="cd" * 32, odds_version=1, odds_hash="ef" * 32,
        created_at=now, updated_at=now,
    ).save()
    return opening_id


def test_own_opening_is_readable_and_hides_the_seed_until_opened(api, buyer, stack_store):
    keypair, token = buyer
    opening_id = put_opening(keypair.public_key)
    status, body = get(api, f"/api/v1/packs/openings/{opening_id}", token)
    assert (status, body["status"], body["fairness"]) == (200, "quoted", None)
    assert "ab" * 32 not in str(body)


def test_another_buyers_opening_is_404_not_403(api, buyer, stack_store):
    opening_id = put_opening(Keypair.generate().public_key)
    _, token = buyer
    status, body = get(api, f"/api/v1/packs/openings/{opening_id}", token)
    assert (status, body["error"]["code"]) == (404, "OPENING_NOT_FOUND")
    absent_id = str(uuid.uuid4())
    status, absent = get(api, f"/api/v1/packs/openings/{absent_id}", token)
    assert status == 404  # someone else's opening and no opening at all read the same
    assert absent["error"]["message"].replace(absent_id, "X") == body["error"]["message"].replace(opening_id, "X")


def test_openings_page_newest_first_with_a_cursor(api, buyer, stack_store):
    keypair, token = buyer
    ids = [put_opening(keypair.public_key, created_at=f"2026-11-0{n}T00:00:00.000Z") for n in range(1, 6)]
    status, first = get(api, "/api/v1/me/openings?limit=2", token)
    assert status == 200
    assert [o["opening_id"] for o in first["openings"]] == [ids[4], ids[3]]
    _, second = get(api, f"/api/v1/me/openings?limit=2&cursor={first['next_cursor']}", token)
    assert [o["opening_id"] for o in second["openings"]] == [ids[2], ids[1]]
    other_keypair = Keypair.generate()
    other = PackvaultClient(api)
    other.sign_in(other_keypair)
    with pytest.raises(ApiError) as refused:  # a cursor from someone else's list is refused
        other.request("GET", f"/api/v1/me/openings?cursor={first['next_cursor']}")
    assert refused.value.status == 400
