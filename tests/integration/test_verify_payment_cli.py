"""`packvault verify-payment`: the Lambda's verifier from the command line, on a real LiteSVM payment."""

from __future__ import annotations

import json

from solders.keypair import Keypair

from local.wallet import RpcWallet
from packvault.core.keys import new_reference
from packvault_tools.cli import main


def run(capsys, *args):
    code = main(["verify-payment", *args])
    return code, json.loads(capsys.readouterr().out)


def test_exit_codes_valid_invalid_pending(solana_node, capsys):
    wallet = RpcWallet(solana_node.url)
    buyer, platform = Keypair(), Keypair()
    wallet.airdrop(str(buyer.pubkey()), 10**9)
    reference = new_reference()
    signature = wallet.pay(buyer, str(platform.pubkey()), 50_000_000, reference=reference)
    base = [signature, "--rpc-url", solana_node.url, "--recipient", str(platform.pubkey())]

    code, verdict = run(capsys, *base, "--amount", "0.05", "--reference", reference, "--sender", str(buyer.pubkey()))
    assert (code, verdict["status"], verdict["received"]) == (0, "valid", "0.05")

    code, verdict = run(capsys, *base, "--amount", "0.06")
    assert (code, verdict["code"]) == (1, "UNDERPAID")
    assert verdict["message"] == "Amount mismatch: expected 0.06 SOL, received 0.05 SOL."

    code, verdict = run(capsys, str(Keypair().sign_message(b"unsent")), "--rpc-url", solana_node.url,
                        "--recipient", str(platform.pubkey()), "--amount", "0.05")
    assert (code, verdict["status"]) == (2, "pending")


def test_failover_to_the_next_rpc_url(solana_node, capsys):
    wallet = RpcWallet(solana_node.url)
    buyer, platform = Keypair(), Keypair()
    wallet.airdrop(str(buyer.pubkey()), 10**9)
    signature = wallet.pay(buyer, str(platform.pubkey()), 10_000_000)
    code, verdict = run(capsys, signature, "--rpc-url", "http://127.0.0.1:9", "--rpc-url", solana_node.url,
                        "--recipient", str(platform.pubkey()), "--amount", "0.01")
    assert (code, verdict["status"]) == (0, "valid")


def test_a_malformed_signature_is_invalid_input_not_pending(solana_node, capsys):
    for malformed in ("not-a-signature", "1" * 20, "0OIl" * 22):
        code, verdict = run(capsys, malformed, "--rpc-url", solana_node.url, "--recipient", new_reference(),
                            "--amount", "0.05")
        assert (code, verdict["status"], verdict["code"]) == (1, "invalid", "INVALID_TX_SIGNATURE")


def test_verify_opening_given_an_opening_id_without_api_says_to_add_it(capsys):
    code = main(["verify-opening", "3f1c9a52-3a8e-4d55-9d0e-8f0b7c1e2a11"])
    assert code == 2 and "add --api <url>" in capsys.readouterr().err
