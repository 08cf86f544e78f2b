"""Fairness v3 (docs/FAIRNESS.md section 13) against the levers the second audit found, on DynamoDB Local with
LiteSVM payments. Each test plays the operator the way the audit did (writing the table directly, holding the
server's keys) and shows that the verifier now answers `mismatch`, or that the action is refused."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import base58
import pydantic
import pytest

from local.wallet import solders_keypair
from packvault import store
from packvault.catalog import item_definitions
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.edge import admin
from packvault.fairness import quote_signing, records, stock_chain
from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening
from packvault.fairness.primitives import canonical_json, client_seed_v3
from packvault.fairness.proof import check_proof
from packvault.rails.solana import sweep as solana_sweep
from packvault.sales.expiry import SweepReport
from packvault.store.catalog import StockChainRecord
from packvault_tools.audit import audit
from packvault_tools.cli import main
from packvault_tools.client import Keypair
from tests.integration import test_fairness_v2 as v2

env, api = v2.env, v2.api  # the same pack (a finite chase item), settings, RPC and wallet; the API answered in process
open_it, public_proof, quote_and_pay = v2.open_it, v2.public_proof, v2.quote_and_pay


@pytest.fixture
def signing(env, monkeypatch):
    """The deployment signs its quotes (QUOTE_SIGNING_KEY), as production does."""
    settings, _, _ = env
    signed = settings.model_copy(update={"quote_signing_key": pydantic.SecretStr(secrets.token_hex(32))})
    monkeypatch.setattr("packvault.core.settings.get_settings", lambda: signed)
    quote_signing._signing_key.cache_clear()
    yield
    quote_signing._signing_key.cache_clear()


def verify(capsys, *arguments: str) -> dict:
    main(["verify-opening", *arguments])
    printed = capsys.readouterr()
    assert printed.out, printed.err
    return json.loads(printed.out)


def pay_with_memo(env, memo_of, body=None):
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


def test_lever_4_confirm_and_sweep_draw_the_same_so_ignoring_a_confirm_gives_the_operator_no_choice(env):
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


def test_lever_4_the_seed_must_start_with_the_named_entropy_and_carry_the_committed_purchase_seed(env):
    keypair, quote, signature = quote_and_pay(env, {"client_seed": "mine"})
    open_it(env, keypair, quote, signature)
    rewrite_fairness(quote["opening_id"], client_seed=client_seed_v3("operator-made-value", "mine"))
    assert any("does not start with the entropy" in p for p in check_proof(public_proof(quote["opening_id"])).problems)
    rewrite_fairness(quote["opening_id"], client_seed=client_seed_v3(signature, "another seed"))
    problems = check_proof(public_proof(quote["opening_id"])).problems
    assert "the purchase seed in the client seed is not the one the commitment names" in problems


def test_lever_5_the_public_proof_carries_the_signed_commitment_and_the_chain_holds_its_hash(
        env, signing, api, capsys):
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
    opening.server_seed_hash = new_hash
    quote_signing.stamp(opening)  # the operator holds the key: it signs the rewritten commitment again
    opening.update(actions=[store.OpeningRecord.server_seed.set(seed), store.OpeningRecord.server_seed_hash.set(
        new_hash), store.OpeningRecord.quote_signature.set(opening.quote_signature)])
    rewrite_fairness(quote["opening_id"], server_seed=seed, server_seed_hash=new_hash)
    rewritten = public_proof(quote["opening_id"])
    assert check_proof(rewritten).problems == []  # self-consistent: re-signed by the operator's own key
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--solana-rpc", rpc_url)
    assert found["verdict"] == "mismatch"
    assert any("the commitment was rewritten after the buyer paid" in problem for problem in found["problems"])


def test_lever_5_a_payment_without_the_quote_hash_still_opens_but_the_proof_says_it_is_not_on_chain(
        env, signing, api, capsys):
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
        env, signing, api, capsys, monkeypatch):
    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "incomplete"  # unsealed
    # The operator signs with a key it does not publish (or publishes another one afterwards).
    monkeypatch.setattr(quote_signing, "public_key", lambda: {"algorithm": "Ed25519", "signed_quotes": True,
                                                              "public_key": Keypair.generate().public_key})
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert "the commitment is signed with a key the API does not publish" in found["problems"]


def test_lever_3_a_forged_round_claiming_an_item_gone_while_the_next_round_still_counts_it_is_a_mismatch(env):
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


def test_lever_8_the_buyers_signed_receipt_shows_a_back_dated_a_rewritten_or_a_dropped_opening(
        env, signing, api, capsys, tmp_path):
    """The audit back-dated an opening to an hour the sweep never seals (RECORD_NOT_SEALED forever), rewrote proofs
    and leaves during the ~65 minutes before a seal, and deleted a leaf. Now the open answer hands the buyer a record
    receipt (its leaf and hour, signed with the quote key); each of those contradicts it."""
    from datetime import timedelta

    from packvault.core.times import parse_iso
    from packvault.fairness.proof import check_receipt

    keypair, quote, signature = quote_and_pay(env)
    opened = open_it(env, keypair, quote, signature)
    receipt = opened["record_receipt"]
    assert receipt["period"] == opened["opened_at"][:13] and receipt["key"] == quote["quote_key"]
    assert check_receipt(public_proof(quote["opening_id"]), receipt, quote["quote_key"]) == []
    saved = tmp_path / "opened.json"
    saved.write_text(json.dumps(opened))
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test", "--receipt", str(saved))["verdict"] == \
        "incomplete"  # everything agrees; its hour is not sealed yet

    rewrite_fairness(quote["opening_id"], client_seed=client_seed_v3(signature, None))  # re-drawn, same inputs
    assert check_receipt(public_proof(quote["opening_id"]), receipt) == []  # an identical rewrite changes nothing
    rewrite_fairness(quote["opening_id"], stock={"crown": 1})  # a real rewrite before the seal
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--receipt", str(saved))
    assert found["verdict"] == "mismatch"
    assert "the proof no longer hashes to the leaf on your receipt: it was changed after it was recorded" in found[
        "problems"]

    opening = store.get_opening(quote["opening_id"])  # back-dated by a day: an hour the sweep will never seal
    earlier = (parse_iso(opening.opened_at) - timedelta(days=1)).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    opening.update(actions=[store.OpeningRecord.opened_at.set(earlier)])
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--receipt", str(saved))
    assert found["verdict"] == "mismatch"
    assert any(problem.startswith(f"your receipt puts this opening in the record of {receipt['period']}")
               for problem in found["problems"])

    forged = {**receipt, "leaf": "0" * 64}  # nor can a buyer forge a receipt
    assert "the receipt's signature does not verify with its key" in check_receipt(public_proof(quote["opening_id"]),
                                                                                   forged)


def test_lever_8_a_receipt_whose_hour_was_sealed_without_its_leaf_is_a_mismatch(env, signing, api, capsys,
                                                                                 tmp_path):
    from datetime import timedelta

    keypair, quote, signature = quote_and_pay(env)
    opened = open_it(env, keypair, quote, signature)
    (tmp_path / "opened.json").write_text(json.dumps(opened))
    opening = store.get_opening(quote["opening_id"])
    store.record_leaf_row(opening.opening_id, opening.opened_at, "", opening.pack_id).delete()  # the operator
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) >= 1
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test", "--receipt", str(tmp_path / "opened.json"))
    assert found["verdict"] == "mismatch"
    assert any("without this opening's leaf" in problem for problem in found["problems"])


def without_crowns(total: int = 0) -> list:
    """The operator's cut: the chase item's total lowered to `total`."""
    tiers = copy.deepcopy(v2.CHASE["tiers"])
    tiers[1]["items"][0]["stock"] = total
    return tiers


def crown_row() -> store.PackItemRecord:
    return store.get_pack_item("chase-v2", "crown")


def test_lever_2_a_catalog_cut_of_committed_stock_waits_until_the_open_quotes_end(env):
    """FAIRNESS.md 5 promised that taking the chase card away after you paid does not remove it from your draw; the
    audit showed a cut did (round 0 abandoned, round 1 drawn without it). Now the loader refuses to withdraw stock
    while any open quote committed to it, and takes it as soon as they have ended."""
    keypair, quote, signature = quote_and_pay(env)
    _, unpaid, _ = quote_and_pay(env)
    assert store.open_commitments("chase-v2") == 2
    before = store.get_pack("chase-v2").definition_hash
    with pytest.raises(PackvaultError) as refused:
        admin.patch_pack(v2.ADMIN, "chase-v2", {"tiers": without_crowns()}, "cut-1")
    assert refused.value.code == ErrorCode.CATALOG_CONFLICT and refused.value.status == 409
    assert "crown 40 -> 0" in refused.value.details["problems"][0]
    assert store.get_pack("chase-v2").definition_hash == before  # nothing was changed
    assert (int(crown_row().stock_total), int(crown_row().stock_available)) == (40, 40)

    opened = open_it(env, keypair, quote, signature)["fairness"]
    assert opened["round"] == 0 and opened["abandoned_rounds"] == []  # drawn from what its quote committed to
    assert store.expire_opening(store.get_opening(unpaid["opening_id"]), None, "test")
    assert store.open_commitments("chase-v2") == 0
    drawn = 40 - int(crown_row().stock_available)  # a total never goes below what was drawn: cut what is left
    admin.patch_pack(v2.ADMIN, "chase-v2", {"tiers": without_crowns(drawn)}, "cut-2")  # nothing open committed
    assert (int(crown_row().stock_total), int(crown_row().stock_available)) == (drawn, 0)


def test_lever_2_quotes_racing_a_cut_never_hold_a_commitment_the_cut_took_away(env):
    """Purchases and a cut at the same moment: either the cut is refused, or every quote still open committed to
    the new total. The count of open commitments is exactly the QUOTED openings that committed stock."""
    settings, _, _ = env
    roomy = settings.model_copy(update={"max_open_quotes": 50})
    from packvault.edge import purchasing as purchase

    def buy(_: int) -> str:
        try:
            return purchase.purchase(roomy, Keypair.generate().public_key, "chase-v2", {}, None)[1]["opening_id"]
        except PackvaultError as refused:
            return str(refused.code)

    def cut() -> str:
        try:
            admin.patch_pack(v2.ADMIN, "chase-v2", {"tiers": without_crowns()}, "racing-cut")
            return "cut"
        except PackvaultError as refused:
            return str(refused.code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        bought = [pool.submit(buy, n) for n in range(12)]
        cutting = pool.submit(cut)
        outcomes = [future.result() for future in bought] + [cutting.result()]
    openings = [store.get_opening(o) for o in outcomes if len(o) == 36]
    total = int(crown_row().stock_total)
    assert all(int(o.stock_committed["crown"]) <= total for o in openings if o.status == "QUOTED"), (outcomes, total)
    assert store.open_commitments("chase-v2") == sum(1 for o in openings if o.status == "QUOTED")
    assert outcomes[-1] == "cut" or outcomes[-1] == "CATALOG_CONFLICT", outcomes[-1]
    assert set(outcomes[:-1]) <= {o.opening_id for o in openings} | {"BUSY_RETRY"}


def test_lever_8_hours_are_sealed_in_order_each_on_the_one_before_empty_hours_too(env):
    """Every hour is sealed, in order, on top of the hour before (FAIRNESS.md 13.7), also after the sweep was down
    for longer than its old three-hour lookback, and the chain hashes recompute from what the API publishes."""
    from datetime import timedelta

    keypair, quote, signature = quote_and_pay(env)
    opened = open_it(env, keypair, quote, signature)
    hour = datetime.strptime(opened["opened_at"][:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    assert records.seal_due(hour + timedelta(hours=2, minutes=30)) == 3  # the hour before (the chain starts), the
    assert records.seal_due(hour + timedelta(hours=9, minutes=30)) == 7  # opening's, the next; then seven, in order
    chain = [records.period_record((hour + timedelta(hours=n)).strftime("%Y-%m-%dT%H")) for n in range(-1, 9)]
    assert chain[0]["prev_period"] is None and chain[0]["prev"] == records.GENESIS
    for before, after in itertools.pairwise(chain):
        assert after["prev_period"] == before["period"] and after["prev"] == before["chain_hash"]
    for sealed in chain:
        assert sealed["tree"] == records.TREE == 2  # leaf and node hashes apart (13.12)
        assert sealed["stock_heads"] == {"chase-v2": {"seq": sealed["stock_heads"]["chase-v2"]["seq"],
                                                      "hash": store.stock_chain("chase-v2")[-1]["hash"]}}
        assert sealed["chain_hash"] == records.chain_hash(sealed["period"], sealed["root"], sealed["count"],
                                                          sealed["prev_period"], sealed["prev"], sealed["quote_key"],
                                                          sealed["tree"], sealed["stock_heads"])
    assert [sealed["count"] for sealed in chain[2:]] == [0] * 8  # empty hours are sealed too
    assert [entry["opening_id"] for entry in chain[1]["entries"]] == [opened["opening_id"]]  # its leaf, listed
    assert all(records.order_problems(sealed) == [] for sealed in chain)


def test_lever_8_an_hour_sealed_again_without_a_leaf_breaks_the_chain(env, api, capsys):
    """The audit could drop a leaf before the seal; now the operator drops one after it and seals the hour again,
    recomputing its root and chain hash on the same previous hour. The other buyers' proofs of that hour still lead
    to the (new) root, but the hour after it was sealed on the first record: verify-opening says mismatch."""
    from datetime import timedelta

    other_keypair, other_quote, other_signature = quote_and_pay(env)
    other = open_it(env, other_keypair, other_quote, other_signature)
    period = other["opened_at"][:13]
    while True:  # mine in the same hour (at an hour's turn, the next one is)
        keypair, quote, signature = quote_and_pay(env)
        mine = open_it(env, keypair, quote, signature)
        if store.record_period(mine["opened_at"]) == period:
            break
        other, period = mine, mine["opened_at"][:13]
    hour = datetime.strptime(period, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    assert records.seal_due(hour + timedelta(hours=2, minutes=30)) == 3
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "match"

    store.record_leaf_row(other["opening_id"], other["opened_at"], "", other["pack_id"]).delete()  # the operator
    seal = store.get_seal(period)
    leaves = [row.leaf for row in store.period_leaves(period)]
    root = records.merkle_root(leaves, records.TREE)
    chain = records.chain_hash(period, root, len(leaves), seal.prev_period, seal.prev, seal.quote_key, records.TREE,
                               seal.stock_heads)
    seal.update(actions=[store.RecordSealRecord.root.set(root), store.RecordSealRecord.count.set(len(leaves)),
                         store.RecordSealRecord.chain.set(chain)])
    records._SEALED.clear()  # a fresh container: the API now publishes the re-sealed hour
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert f"the hour after {period} was sealed on another record of {period}: it was sealed again" in found[
        "problems"]


def test_lever_5_after_a_key_rotation_older_commitments_still_verify_with_the_key_the_chain_names(
        env, signing, api, capsys, monkeypatch):
    """Quote-signing keys rotate (FAIRNESS.md 13.7): a quote keeps the signature it was made with, the chain of
    seals names the key in force hour by hour, and verify-opening holds a commitment to the key of its hour, not to
    whatever key the API publishes today. A commitment signed with a key no seal names is a mismatch."""
    from datetime import timedelta

    settings, _, _ = env
    keypair, quote, signature = quote_and_pay(env)
    opened = open_it(env, keypair, quote, signature)
    hour = datetime.strptime(opened["opened_at"][:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    assert records.seal_due(hour + timedelta(minutes=30)) == 3  # the hours before it, sealed under the first key
    rotated = settings.model_copy(update={"quote_signing_key": pydantic.SecretStr(secrets.token_hex(32))})
    monkeypatch.setattr("packvault.core.settings.get_settings", lambda: rotated)
    quote_signing._signing_key.cache_clear()
    assert quote_signing.public_key()["public_key"] != quote["quote_key"]
    assert records.seal_due(hour + timedelta(hours=2, minutes=30)) == 2  # its hour and the next, under the new key
    proof = public_proof(quote["opening_id"])
    assert proof["commitment"]["quote_key"] == quote["quote_key"]  # as quoted, not re-signed with the new key
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "match"

    from nacl.signing import SigningKey

    other = SigningKey.generate()  # the operator re-signs the commitment with a key no seal names
    opening = store.get_opening(quote["opening_id"])
    forged = other.sign(canonical_json(quote_signing.commitment(opening))).signature
    opening.update(actions=[store.OpeningRecord.quote_signature.set(base58.b58encode(forged).decode()),
                            store.OpeningRecord.quote_key.set(base58.b58encode(bytes(other.verify_key)).decode())])
    assert check_proof(public_proof(quote["opening_id"])).problems == []  # it verifies with its own key
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert any("a key the records of" in problem for problem in found["problems"])


def test_lever_9_a_balance_opening_draws_with_the_stock_in_force_when_its_seed_pair_was_made(env, api, capsys):
    """The audit: balance openings committed no stock, and the operator, who knows the next nonce's outcome, could
    zero a finite item just before it was drawn. Now a balance opening commits to the stock the pack's chain held
    when the seed pair was made: a cut after that forces a round on the record, flagged, and a proof that claims
    another committed stock contradicts the chain."""
    from packvault.catalog.loader import load_catalog, parse_catalog
    from packvault.edge import purchasing as purchase
    from packvault.rails.credits import open as balance_open

    settings, _, _ = env
    wallet = v2.credit_pack_and_wallet("chase-balance")  # the seed pair is made now; crown: 40
    cut = copy.deepcopy(v2.CHASE)
    cut.update(pack_id="chase-balance", prices={"CREDIT": "100"}, tiers=without_crowns())
    load_catalog(parse_catalog({"schema_version": 1, "packs": [cut]}))  # the operator's cut: no quote holds it off
    opened = purchase.purchase(settings, wallet, "chase-balance", {"currency": "CREDIT"}, None)[1]
    fairness = opened["fairness"]
    pair_made = store.revealed_pair(wallet, fairness["pair"]) or store.current_pair(wallet)
    assert fairness["stock_committed"] == {"crown": 40} and fairness["stock_committed_at"] == pair_made.created_at
    assert fairness["round"] == 1 and fairness["abandoned_rounds"][0]["stock"] == {"crown": 40}  # crown drawn, gone
    assert fairness["items_hash"] == store.get_pack("chase-balance").items_hash  # section 8 proofs now carry it
    balance_open.rotate(wallet, {})  # the pair's server seed revealed
    found = verify(capsys, opened["opening_id"], "--api", "http://api.test")
    assert found["problems"] == [found["problems"][0]] and "not sealed" in found["problems"][0]  # incomplete only
    assert any("cut from 40 (committed at quote time) to 0" in warning for warning in found["warnings"])

    opening = store.get_opening(opened["opening_id"])  # the operator: "the pair committed to the cut stock"
    opening.update(actions=[store.OpeningRecord.fairness.set({**opening.fairness, "stock_committed": {"crown": 0},
                                                              "stock": {"crown": 0}})])
    found = verify(capsys, opened["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert any("is not the state of the pack's stock history chain at" in p for p in found["problems"])


def stock_problems(proof: dict) -> list[str]:
    """What verify-opening --api reports about the stock (the other checks of an unsealed hour left aside)."""
    return stock_chain.verify(proof["pack_id"], store.stock_chain(proof["pack_id"])) + stock_chain.proof_problems(
        proof, store.stock_chain(proof["pack_id"]))


def test_lever_1_a_count_written_to_the_item_row_does_not_reach_the_draw(env, api, capsys):
    """The audit set the chase item's `stock_available` to 0 (total untouched), confirmed, restored it: the draw used
    the lowered stock and both verifiers said match. The draw now counts from the pack's stock chain, where every
    change to a count is a link; the item row only mirrors it for the catalog views."""
    keypair, quote, signature = quote_and_pay(env)
    crown = crown_row()
    crown.update(actions=[store.PackItemRecord.stock_available.set(0)])
    fairness = open_it(env, keypair, quote, signature)["fairness"]
    assert fairness["round"] == 0 and fairness["stock"] == {"crown": 40}
    load_link = store.stock_chain("chase-v2")[0]
    assert fairness["stock_link"] == {"seq": 1, "hash": load_link["hash"]} and load_link["left"] == {"crown": 40}
    took = sum(item["item_id"] == "crown" for item in fairness["items"])
    assert took > 0  # 0.9 per draw, five draws
    (own,) = store.stock_chain("chase-v2")[1:]
    assert (own["kind"], own["opening_id"], own["taken"], own["left"]) == (
        "opening", quote["opening_id"], {"crown": took}, {"crown": 40 - took})
    assert stock_problems(public_proof(quote["opening_id"])) == []
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "incomplete"  # only the hour, not sealed yet


def test_lever_1_a_count_rewritten_on_the_chain_head_and_restored_is_a_mismatch(env, api, capsys):
    """The same diversion one level down: the operator lowers the head's count of crowns to 0 before the confirm and
    restores it after. The draw used 0 crowns and the proof is self-consistent, but the link it names counts 40."""
    keypair, quote, signature = quote_and_pay(env)
    head = store.stock_head("chase-v2")
    head.update(actions=[store.StockHeadRecord.left.set({"crown": 0})])
    fairness = open_it(env, keypair, quote, signature)["fairness"]
    assert fairness["stock"] == {"crown": 0} and {item["item_id"] for item in fairness["items"]} == {"penny"}
    head.update(actions=[store.StockHeadRecord.left.set({"crown": 40})])  # no trace left in the rows
    assert check_proof(public_proof(quote["opening_id"])).verdict == "match"  # the proof alone cannot tell
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert any("is not what the stock chain's link 1 leaves ({'crown': 40})" in p for p in found["problems"])


def rewrite_stock_chain(links: list[dict], opening_id: str) -> list[dict]:
    """The operator rewrites chase-v2's chain (a load of 45 crowns, then the opening's link on it), every link
    re-hashed so that the chain alone is intact; the forged links."""
    forged = [stock_chain.load_link(None, "chase-v2", {"crown": 45}, 50, links[0]["at"])]
    forged.append(stock_chain.opening_link(stock_chain.state_of(forged[0]), "chase-v2", opening_id,
                                           links[1]["taken"], links[1]["at"]))
    for link in forged:
        row = StockChainRecord.get(store.pack_pk("chase-v2"), f"STOCKCHAIN#{link['seq']:08d}")
        row.update(actions=[getattr(StockChainRecord, name).set(value) for name, value in link.items()
                            if name not in ("pack_id", "seq", "kind", "opening_id")])
    return forged


def test_lever_1_a_stock_chain_rewritten_after_the_opening_contradicts_the_link_its_proof_names(env, api, capsys):
    """Rewriting the chain itself (a link changed and every later one re-hashed, so the chain alone looks intact)
    contradicts the link hash the proof names, and the proof is in the sealed, anchored record."""
    keypair, quote, signature = quote_and_pay(env)
    fairness = open_it(env, keypair, quote, signature)["fairness"]
    links = store.stock_chain("chase-v2")
    rewrite_stock_chain(links, quote["opening_id"])
    assert stock_chain.verify("chase-v2", store.stock_chain("chase-v2")) == []  # intact on its own
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch" and fairness["stock_link"]["seq"] == 1
    assert any("no link 1 with the hash the proof names" in p for p in found["problems"])


def test_lever_1_concurrent_openings_each_draw_the_count_the_chain_gives_and_the_chain_counts_every_unit(env):
    """Ten buyers open at once a pack with 12 crowns (about 4.5 drawn each): every draw's stock is the chain's count
    at the link its proof names, each taker is the very next link, and the chain's last count is what is left."""
    from packvault.catalog.loader import load_catalog, parse_catalog

    scarce = copy.deepcopy(v2.CHASE)
    scarce["tiers"][1]["items"][0]["stock"] = 12
    load_catalog(parse_catalog({"schema_version": 1, "packs": [scarce]}))  # no quote yet: the cut is allowed
    paid = [quote_and_pay(env) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        opened = list(pool.map(lambda bought: open_it(env, *bought), paid))
    links = store.stock_chain("chase-v2")
    assert stock_chain.verify("chase-v2", links) == []
    delivered = sum(item["item_id"] == "crown" for body in opened for item in body["items"])
    assert delivered == 12  # 50 draws at 0.9 each: the crowns run out, and no unit is drawn twice
    assert links[-1]["left"] == {"crown": 0} and crown_row().stock_available == 0
    assert sum(link.get("taken", {}).get("crown", 0) for link in links) == delivered
    for body in opened:
        assert stock_problems(public_proof(body["opening_id"])) == [], body["opening_id"]
    audit()  # each opening link is an opening that drew exactly those units; the item rows mirror the count


def seal_through(moment: str) -> None:
    """Seal every hour up to and including `moment`'s (the sweep, a little later)."""
    from datetime import timedelta

    hour = datetime.strptime(moment[:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    records.seal_due(hour + timedelta(hours=1, minutes=30))


def test_lever_6_a_quote_that_expires_is_a_leaf_of_its_hour_and_counted_in_the_pack_stats(env, api, capsys):
    """The audit: a quote that ends without opening left nothing on the record, so an operator who predicted the draw
    could abort the ones it disliked silently. Now every ending (expired, refund due) is a leaf committing to the
    revealed seed and the reason, written with the ending; a sealed hour without it is a mismatch, and the pack's
    statistics count endings beside openings."""
    from packvault.catalog import stats

    settings, _, _ = env
    from packvault.edge import purchasing as purchase

    kept = purchase.purchase(settings, Keypair.generate().public_key, "chase-v2", {}, None)[1]
    dropped = purchase.purchase(settings, Keypair.generate().public_key, "chase-v2", {}, None)[1]
    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    for unpaid in (kept, dropped):
        assert store.expire_opening(store.get_opening(unpaid["opening_id"]), None, "quote expired")
    (ending,) = store.get_opening(kept["opening_id"]).endings
    assert (ending["outcome"], ending["reason"], ending["would_have_drawn"]) == ("expired", "quote expired", None)
    assert ending["server_seed_hash"] == kept["server_seed_hash"]
    ended_at = store.get_opening(dropped["opening_id"]).endings[0]["ended_at"]
    store.record_leaf_row(dropped["opening_id"], ended_at, "", "chase-v2").delete()  # the operator hides one
    seal_through(ended_at)
    found = verify(capsys, kept["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "match", found
    assert public_proof_record(kept["opening_id"])["endings"][0]["inclusion"]["leaf"] == records.ending_leaf(ending)
    found = verify(capsys, dropped["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert any("without this opening's leaf" in problem for problem in found["problems"])
    stats._CACHE.clear()
    counted = stats.pack_stats("chase-v2")["all_time"]
    assert counted["openings"] == 1 and counted["ended_without_opening"] == {
        "expired": 1, "refund_due": 0, "expiry_rate": "0.500000", "refund_rate": "0.000000"}  # the hidden one: not


def test_lever_6_a_late_payment_recorded_for_a_refund_commits_what_it_would_have_drawn(env, api, capsys):
    """A payment that cannot open its quote (here: made after the quote expired) is recorded REFUND_DUE with an
    ending that commits to what it would have drawn by the version 3 rule (the payment's entropy, the purchase seed);
    changing that afterwards contradicts the leaf."""
    from packvault.fairness.primitives import client_seed_v3

    settings, _, chain = env
    from packvault.edge import purchasing as purchase

    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, "chase-v2", {"client_seed": "mine"}, None)[1]
    unpaid = store.get_opening(quote["opening_id"])
    unpaid.update(actions=[store.OpeningRecord.quote_expires_at.set("2026-01-01T00:00:00Z")])  # its time ran out
    assert store.expire_opening(unpaid, None, "quote expired")
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"])
    with pytest.raises(PackvaultError):
        open_it(env, keypair, quote, signature)
    opening = store.get_opening(quote["opening_id"])
    assert opening.status == "REFUND_DUE"
    expired, refund = opening.endings
    assert (expired["outcome"], refund["outcome"], refund["payment_id"]) == ("expired", "refund_due", signature)
    assert refund["would_have_drawn"]["client_seed"] == client_seed_v3(signature, "mine")
    seal_through(refund["ended_at"])
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "match"
    forged = {**refund, "would_have_drawn": {**refund["would_have_drawn"], "items": []}}
    opening.update(actions=[store.OpeningRecord.endings.set([expired, forged])])  # the operator rewrites it
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch"
    assert any("does not recompute" in problem for problem in found["problems"])
    assert any("without this opening's leaf" in problem for problem in found["problems"])


def public_proof_record(opening_id: str) -> dict:
    from packvault.sales import proofs

    return proofs.public_proof(opening_id)


def test_lever_1_a_pack_loaded_before_the_accounting_starts_its_count_at_its_first_opening(env):
    """A pack whose chain was written before v3 (a v2 link, no head row): its first opening counts from the item rows
    and writes the head; from then on every opening and load is counted and checked."""
    from packvault.catalog.loader import load_catalog, parse_catalog
    from packvault.store.catalog import STOCK_HEAD_SORT_KEY, StockHeadRecord

    counted = store.stock_chain("chase-v2")[0]
    old = stock_chain.link("chase-v2", 1, stock_chain.GENESIS, counted["stock_totals"], counted["supply_total"],
                           counted["at"])  # the chain as v2 wrote it
    row = StockChainRecord.get(store.pack_pk("chase-v2"), "STOCKCHAIN#00000001")
    row.update(actions=[StockChainRecord.hash.set(old["hash"]), StockChainRecord.kind.remove(),
                        StockChainRecord.left.remove()])
    store.get_pack("chase-v2").update(actions=[store.PackRecord.stock_chain_head.set(old["hash"])])
    StockHeadRecord(store.pack_pk("chase-v2"), STOCK_HEAD_SORT_KEY).delete()
    crown_row().update(actions=[store.PackItemRecord.stock_available.set(38)])  # two drawn before v3

    first = open_it(env, *quote_and_pay(env))["fairness"]
    assert first["stock_link"] == {"seq": 1, "hash": old["hash"]} and first["stock"] == {"crown": 38}
    second = open_it(env, *quote_and_pay(env))["fairness"]
    links = store.stock_chain("chase-v2")
    assert stock_chain.verify("chase-v2", links) == [] and links[1]["opening_id"] == first["opening_id"]
    assert second["stock_link"]["seq"] == 2 and second["stock"] == links[1]["left"]
    for proof in (first, second):
        assert stock_problems(public_proof(proof["opening_id"])) == []
    more = copy.deepcopy(v2.CHASE)
    more["tiers"][1]["items"][0]["stock"] = 45
    load_catalog(parse_catalog({"schema_version": 1, "packs": [more]}))  # a load follows the counted head
    links = store.stock_chain("chase-v2")
    assert links[-1]["kind"] == "load" and links[-1]["left"]["crown"] == links[-2]["left"]["crown"] + 5
    assert stock_chain.verify("chase-v2", links) == []


def test_lever_1_each_seal_names_every_packs_stock_head_so_a_chain_rewritten_later_is_a_mismatch(env, api, capsys):
    """The stock chain's heads are anchored with the hourly seals (FAIRNESS.md 13.10): the seal of the opening's hour
    names the pack's head, so rewriting the chain after the seal (every link re-hashed, the chain intact on its own,
    the proof rewritten to name the new link) contradicts the anchored seal."""
    keypair, quote, signature = quote_and_pay(env)
    fairness = open_it(env, keypair, quote, signature)["fairness"]
    seal_through(store.get_opening(quote["opening_id"]).opened_at)
    sealed = records.period_record(store.get_opening(quote["opening_id"]).opened_at[:13])
    links = store.stock_chain("chase-v2")
    assert sealed["stock_heads"]["chase-v2"] == {"seq": links[-1]["seq"], "hash": links[-1]["hash"]}
    assert verify(capsys, quote["opening_id"], "--api", "http://api.test")["verdict"] == "match"
    forged = rewrite_stock_chain(links, quote["opening_id"])
    rewrite_fairness(quote["opening_id"], stock_link={"seq": 1, "hash": forged[0]["hash"]}, stock={"crown": 45})
    found = verify(capsys, quote["opening_id"], "--api", "http://api.test")
    assert found["verdict"] == "mismatch" and fairness["stock_link"]["seq"] == 1
    assert any("the stock chain was rewritten after" in problem for problem in found["problems"])
