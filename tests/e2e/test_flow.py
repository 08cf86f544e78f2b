"""The whole flow over HTTP on the local stack, as a buyer's app runs it: sign in, purchase, pay with a
really signed Solana transfer (executed by LiteSVM), confirm, and find the items in the vault."""

from __future__ import annotations

import json
import time

import requests

from local.wallet import RpcWallet, solders_keypair
from packvault_tools.client import ApiError, Keypair, PackvaultClient
from tests.conftest import ROOT


def test_sign_in_purchase_pay_confirm_and_see_the_items(stack):
    keypair = Keypair.generate()
    client = PackvaultClient(stack.base_url)
    client.sign_in(keypair)
    wallet = RpcWallet(stack.solana_url)
    wallet.airdrop(keypair.public_key, 2 * 10**9)

    quote = client.request("POST", "/api/v1/packs/booster-classic/purchase", {"currency": "SOL"},
                           headers={"idempotency-key": "flow-1"})
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
    assert wallet.balance(quote["receiver_wallet"]) >= int(quote["amount_base_units"])

    path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
    opened = client.request("POST", path, {"tx_hash": signature, "chain": "SOLANA"})
    assert opened["status"] == "opened" and len(opened["items"]) == 5
    assert [i["tier_id"] for i in opened["items"][:4]] == ["common"] * 4
    assert client.request("POST", path, {"tx_signature": signature, "chain": "sol"}) == opened

    vault = client.request("GET", "/api/v1/me/vault")
    assert {i["vault_item_id"] for i in vault["items"]} == {i["vault_item_id"] for i in opened["items"]}
    assert vault["item_count"] == 5
    view = client.request("GET", f"/api/v1/packs/openings/{quote['opening_id']}")
    assert view["status"] == "opened" and view["fairness"]["server_seed_hash"] == quote["server_seed_hash"]


def test_confirming_someone_elses_opening_is_404(stack):
    from solders.keypair import Keypair as SoldersKeypair

    owner, other = PackvaultClient(stack.base_url), PackvaultClient(stack.base_url)
    owner.sign_in(Keypair.generate())
    other.sign_in(Keypair.generate())
    quote = owner.request("POST", "/api/v1/packs/starter-unlimited/purchase", {})
    try:
        other.request("POST", f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                      {"tx_signature": str(SoldersKeypair().sign_message(b"x")), "chain": "sol"})
    except ApiError as refused:
        assert (refused.status, refused.body["error"]["code"]) == (404, "OPENING_NOT_FOUND")
    else:
        raise AssertionError("another buyer confirmed an opening that is not theirs")


def test_a_payment_not_landed_yet_answers_202_with_retry_after(stack):
    import requests
    from solders.keypair import Keypair as SoldersKeypair

    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {})
    started = time.monotonic()
    response = requests.post(f"{stack.base_url}/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                             json={"tx_signature": str(SoldersKeypair().sign_message(b"x")), "chain": "sol"},
                             headers={"authorization": f"Bearer {client.token}"}, timeout=10)
    assert (response.status_code, response.headers["retry-after"]) == (202, "5")
    assert response.json()["code"] == "PAYMENT_PENDING"
    assert time.monotonic() - started < 5


def test_verify_opening_recomputes_an_opening_from_the_api(stack, tmp_path, capsys):
    import json

    from packvault_tools.cli import main

    keyfile = tmp_path / "buyer.json"
    keypair = Keypair.generate()
    keypair.save(keyfile)
    client = PackvaultClient(stack.base_url)
    client.sign_in(keypair)
    wallet = RpcWallet(stack.solana_url)
    wallet.airdrop(keypair.public_key, 10**9)
    quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"client_seed": "my lucky seed"})
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"])
    client.request("POST", f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                   {"tx_signature": signature, "chain": "sol"})
    capsys.readouterr()
    # The draw recomputes from the public proof; its hour of the public record is not sealed yet, so the verdict
    # is incomplete until it is (FAIRNESS.md 9: an opening missing from a sealed hour would be a mismatch).
    assert main(["verify-opening", quote["opening_id"], "--api", stack.base_url]) == 2
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["verdict"] == "incomplete" and len(verdict["recomputed_items"]) == 3
    assert [p for p in verdict["problems"] if "not sealed yet" not in p] == []


def test_verify_opening_reads_the_quotes_memo_from_the_chain(stack, tmp_path, capsys):
    """--quote with --solana-rpc: the payment on chain must carry packvault:<opening>:<quote_hash> of the kept quote;
    a payment made without the memo does not bind the quote and is reported."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from packvault_tools.cli import main

    wallet = RpcWallet(stack.solana_url)
    verdicts = {}
    for with_memo in (True, False):
        keypair = Keypair.generate()
        client = PackvaultClient(stack.base_url)
        client.sign_in(keypair)
        wallet.airdrop(keypair.public_key, 10**9)
        quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {})
        memo = parse_qs(urlsplit(quote["solana_pay_url"]).query)["memo"][0] if with_memo else None
        signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                               reference=quote["reference"], memo=memo)
        client.request("POST", f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                       {"tx_signature": signature, "chain": "sol"})
        kept = tmp_path / f"quote-{with_memo}.json"
        kept.write_text(json.dumps(quote))
        capsys.readouterr()
        code = main(["verify-opening", quote["opening_id"], "--api", stack.base_url, "--quote", str(kept),
                     "--solana-rpc", stack.solana_url])
        verdicts[with_memo] = (code, json.loads(capsys.readouterr().out))
    assert verdicts[True][0] == 2 and verdicts[True][1]["verdict"] == "incomplete"  # only its hour is unsealed
    assert all("not sealed yet" in p for p in verdicts[True][1]["problems"])
    assert verdicts[False][0] == 1 and any("does not carry the memo" in p for p in verdicts[False][1]["problems"])


def assert_documented(component: str, answer: dict) -> None:
    """The answer validates against its schema in the committed OpenAPI document (JSON Schema 2020-12)."""
    import jsonschema

    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(answer)


def test_proofs_are_public_and_an_expired_quote_reveals_its_seed(stack, stack_store):
    import hashlib

    import packvault.sales.settle  # noqa: F401 (registers how an ending is recorded, as every rail's function does)
    from packvault import store

    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    quote = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {})
    public = requests.get(f"{stack.base_url}/api/v1/proofs/{quote['opening_id']}", timeout=10).json()
    assert public["status"] == "quoted" and "server_seed" not in public and public["proof"] is None
    assert_documented("PublicProof", public)
    assert store.expire_opening(store.get_opening(quote["opening_id"]), None, "test: expired")
    public = requests.get(f"{stack.base_url}/api/v1/proofs/{quote['opening_id']}", timeout=10).json()
    assert public["status"] == "expired" and public["proof"] is None
    assert_documented("PublicProof", public)
    (ending,) = public["endings"]  # on the public record (FAIRNESS.md 13.11), sealed with its hour
    assert (ending["outcome"], ending["reason"], ending["server_seed"]) == ("expired", "test: expired",
                                                                            public["server_seed"])
    assert hashlib.sha256(bytes.fromhex(public["server_seed"])).hexdigest() == quote["server_seed_hash"]
    missing = requests.get(f"{stack.base_url}/api/v1/proofs/3f1c9a52-3a8e-4d55-9d0e-8f0b7c1e2a11", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "OPENING_NOT_FOUND"
