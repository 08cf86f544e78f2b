"""Fairness v3 (docs/FAIRNESS.md section 13) against the levers the second audit found, on DynamoDB Local with
LiteSVM payments. Each test plays the operator the way the audit did (writing the table directly, holding the
server's keys) and shows that the verifier now answers `mismatch`, or that the action is refused."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime

import pydantic
import pytest

from local.wallet import solders_keypair
from packvault import store
from packvault.catalog import item_definitions
from packvault.catalog import views as catalog_views
from packvault.core.errors import PackvaultError
from packvault.fairness import quote_signing, records
from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening
from packvault.fairness.primitives import client_seed_v3
from packvault.fairness.proof import check_proof
from packvault.rails.solana import sweep as solana_sweep
from packvault.sales import proofs
from packvault.sales.expiry import SweepReport
from packvault_tools import client as api_client
from packvault_tools.cli import main
from packvault_tools.client import Keypair
from tests.integration.test_fairness_v2 import env, open_it, public_proof, quote_and_pay  # noqa: F401

pytestmark = pytest.mark.usefixtures("env")


@pytest.fixture
def signing(env, monkeypatch):  # noqa: F811
    """The deployment signs its quotes (QUOTE_SIGNING_KEY), as production does."""
    settings, _, _ = env
    signed = settings.model_copy(update={"quote_signing_key": pydantic.SecretStr(secrets.token_hex(32))})
    monkeypatch.setattr("packvault.core.settings.get_settings", lambda: signed)
    quote_signing._signing_key.cache_clear()
    yield
    quote_signing._signing_key.cache_clear()


@pytest.fixture
def api(monkeypatch):
    """verify-opening's API calls answered by the same domain functions the handlers call."""

    def answer(self, method, path, body=None, headers=None):
        try:
            if path.startswith("/api/v1/proofs/"):
                return proofs.public_proof(path.rsplit("/", 1)[1])
            if path.startswith("/api/v1/fairness/records/"):
                return records.period_record(path.rsplit("/", 1)[1])
            if path == "/api/v1/fairness/quote-key":
                return quote_signing.public_key()
            if path.endswith("/stock-chain"):
                return catalog_views.get_stock_chain(path.split("/")[4])
        except PackvaultError as refused:
            raise api_client.ApiError(refused.status, refused.to_body()) from None
        raise AssertionError(f"unexpected {method} {path}")

    monkeypatch.setattr(api_client.PackvaultClient, "request", answer)


def verify(capsys, *arguments: str) -> dict:
    main(["verify-opening", *arguments])
    printed = capsys.readouterr()
    assert printed.out, printed.err
    return json.loads(printed.out)


def pay_with_memo(env, memo_of, body=None):  # noqa: F811
    """A quote paid by a transfer whose memo `memo_of(quote)` writes (the quote's own, a short one, none)."""
    settings, _, chain = env
    from packvault.edge import purchasing as purchase

    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, "chase-v2", body or {}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"], memo=memo_of(quote))
    return keypair, quote, signature


def rewrite_fairness(opening_id: str, **changes) -> dict:
    """The operator rewrites an opened row's proof, redrawing its items so that the draw itself recomputes."""
    opening = store.get_opening(opening_id)
    fairness = {**opening.fairness, **changes}
    table = OddsTable.from_document(store.odds_table(opening.pack_id, int(opening.odds_version)))
    drawn = draw_opening(table, DrawInputs(fairness["server_seed"], fairness["client_seed"], opening_id,
                                           int(fairness["round"])), fairness["stock"])
    fairness["items"] = [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]
    definitions = item_definitions.committed(opening.pack_id, opening.items_hash)
    delivered = [{**definitions[d.item_id], "vault_item_id": old["vault_item_id"]}  # what the buyer is shown, too
                 for d, old in zip(drawn, opening.items, strict=True)]
    opening.update(actions=[store.OpeningRecord.fairness.set(fairness), store.OpeningRecord.items.set(delivered)])
    return fairness


def test_lever_4_confirm_and_sweep_draw_the_same_so_ignoring_a_confirm_gives_the_operator_no_choice(env):  # noqa: F811
    """v2 mixed a confirm-time seed into the client seed, and the sweep opened a paid opening without it: by
    ignoring the buyer's confirm the operator chose between two draws. v3 drops the confirm seed: the buyer's confirm
    (with a seed) and the sweep (without) draw with the same client seed, canonical_json([signature, purchase seed])."""
    settings, rpc, _ = env
    keypair, quote, signature = quote_and_pay(env, {"client_seed": "mine: with a colon"})
    confirmed = open_it(env, keypair, quote, signature, client_seed="sent at confirm")["fairness"]
    assert confirmed["client_seed"] == client_seed_v3(signature, "mine: with a colon")
    assert confirmed["entropy"] == {"source": "solana_transaction_signature", "value": signature}

    _, swept_quote, swept_signature = quote_and_pay(env, {"client_seed": "mine: with a colon"})
    solana_sweep.settle_due(settings, rpc)(store.get_opening(swept_quote["opening_id"]), store.QUOTED_SHARD,
                                           datetime.now(UTC), SweepReport())
    swept = public_proof(swept_quote["opening_id"])
    assert swept["client_seed"] == client_seed_v3(swept_signature, "mine: with a colon")  # as a confirm would
    assert check_proof(swept).verdict == "match"

    # The operator rewrites the proof to the v2 form with a seed of its choosing, the items redrawn to agree.
    rewrite_fairness(quote["opening_id"], client_seed=f"{signature}:mine: with a colon:operator's pick")
    result = check_proof(public_proof(quote["opening_id"]))
    assert result.verdict == "mismatch"
    assert any("not canonical_json([entropy, purchase seed])" in problem for problem in result.problems)


def test_lever_4_the_seed_must_start_with_the_named_entropy_and_carry_the_committed_purchase_seed(env):  # noqa: F811
    keypair, quote, signature = quote_and_pay(env, {"client_seed": "mine"})
    open_it(env, keypair, quote, signature)
    rewrite_fairness(quote["opening_id"], client_seed=client_seed_v3("operator-made-value", "mine"))
    assert any("does not start with the entropy" in p for p in check_proof(public_proof(quote["opening_id"])).problems)
    rewrite_fairness(quote["opening_id"], client_seed=client_seed_v3(signature, "another seed"))
    problems = check_proof(public_proof(quote["opening_id"])).problems
    assert "the purchase seed in the client seed is not the one the commitment names" in problems


def test_lever_5_the_public_proof_carries_the_signed_commitment_and_the_chain_holds_its_hash(
        env, signing, api, capsys):  # noqa: F811
    """v2: only a buyer who kept the quote could hold the server to it. v3: the public proof carries the signed
    commitment and the payment's memo carries its hash, so anyone can check the proof against both, with no quote
    kept. The operator rewrites the opening after payment (a new server seed, the commitment re-signed with its own
    key, the items redrawn): the chain still names the old commitment."""
    settings, _, _ = env
    keypair, quote, signature = pay_with_memo(env, lambda q: f"packvault:{q['opening_id']}:{q['quote_hash']}")
    open_it(env, keypair, quote, signature)
    proof = public_proof(quote["opening_id"])
    assert proof["commitment"]["commitment"] == quote["commitment"]
    assert proof["commitment"]["quote_signature"] == quote["quote_signature"]  # deterministic Ed25519
    assert proof["commitment_on_chain"] is True and proof["commitment"]["commitment"]["quoted_at"] <= proof[
        "opened_at"]
    rpc_url = settings.solana_rpc_urls[0]
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--solana-rpc", rpc_url)
    assert found["verdict"] == "incomplete" and found["warnings"] == []  # everything checks; its hour is unsealed

    seed = secrets.token_hex(32)
    opening = store.get_opening(quote["opening_id"])
    new_hash = hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    opening.update(actions=[store.OpeningRecord.server_seed.set(seed), store.OpeningRecord.server_seed_hash.set(
        new_hash)])
    rewrite_fairness(quote["opening_id"], server_seed=seed, server_seed_hash=new_hash)
    rewritten = public_proof(quote["opening_id"])
    assert check_proof(rewritten).problems == []  # self-consistent: re-signed by the operator's own key
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--solana-rpc", rpc_url)
    assert found["verdict"] == "mismatch"
    assert any("the commitment was rewritten after the buyer paid" in problem for problem in found["problems"])


def test_lever_5_a_payment_without_the_quote_hash_still_opens_but_the_proof_says_it_is_not_on_chain(
        env, signing, api, capsys):  # noqa: F811
    settings, _, _ = env
    keypair, quote, signature = pay_with_memo(env, lambda q: f"packvault:{q['opening_id']}")
    opened = open_it(env, keypair, quote, signature)
    assert opened["status"] == "opened"  # money is never lost for a memo
    proof = public_proof(quote["opening_id"])
    assert proof["commitment_on_chain"] is False
    result = check_proof(proof)
    assert result.verdict == "match" and any("not on chain" in warning for warning in result.warnings)

    opening = store.get_opening(quote["opening_id"])  # the operator claims the commitment was on chain after all
    opening.update(actions=[store.OpeningRecord.fairness.set({**opening.fairness, "commitment_on_chain": True})])
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--solana-rpc",
                   settings.solana_rpc_urls[0])
    assert found["verdict"] == "mismatch"
    assert "the proof says the payment carries its quote hash; the transaction on chain does not" in found["problems"]


def test_lever_5_a_commitment_signed_with_a_key_the_api_does_not_publish_is_a_mismatch(
        env, signing, api, capsys, monkeypatch):  # noqa: F811
    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "incomplete"  # unsealed
    # The operator signs with a key it does not publish (or publishes another one afterwards).
    monkeypatch.setattr(quote_signing, "public_key", lambda: {"algorithm": "Ed25519", "signed_quotes": True,
                                                              "public_key": Keypair.generate().public_key})
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert "the commitment is signed with a key the API does not publish" in found["problems"]


def test_lever_3_a_forged_round_claiming_an_item_gone_while_the_next_round_still_counts_it_is_a_mismatch(env):  # noqa: F811
    """The audit rewrote a proof: round 0 abandoned because the chase item had "0 available" (it had 40), round 1
    drawn from a stock that still counts 40. verify-opening only checked that `short` named drawn items. Now each
    short item must have been short as recorded and the next round counts at most the units the round saw left."""
    keypair, quote, signature = quote_and_pay(env)
    honest = open_it(env, keypair, quote, signature)["fairness"]
    round_0 = [item["item_id"] for item in honest["items"]]
    assert "crown" in round_0  # 0.9 per draw, five draws
    forged_round = {"round": 0, "stock": honest["stock"], "items": honest["items"],
                    "short": {"crown": {"needed": round_0.count("crown"), "available": 0, "total": 40,
                                        "committed": 40}}}
    rewrite_fairness(quote["opening_id"], round=1, abandoned_rounds=[forged_round], stock={"crown": 40})
    result = check_proof(public_proof(quote["opening_id"]))
    assert result.verdict == "mismatch"
    assert "abandoned round 0 says 0 of crown were left, but the next round counts 40" in result.problems
    inconsistent = {**forged_round, "short": {"crown": {**forged_round["short"]["crown"], "needed": 9}}}
    rewrite_fairness(quote["opening_id"], round=1, abandoned_rounds=[inconsistent], stock={"crown": 0})
    problems = check_proof(public_proof(quote["opening_id"])).problems
    assert "abandoned round 0: crown was not short as recorded" in problems
