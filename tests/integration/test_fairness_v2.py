"""Fairness v2 against the attacks in the fairness issue, on DynamoDB Local with LiteSVM payments: the payment's
id always enters the client seed; stock taken away after the quote cannot silently change the draw (the quote
committed the totals, and a redraw it forces is on the public record and flagged); a failed open transaction
that was not about stock never redraws (no hidden rounds); every v2 proof recomputes, abandoned rounds
included, and a forged round is refused."""

from __future__ import annotations

import copy
import json

import base58
import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, parse_catalog
from packvault.chain.rpc import SolanaRpc
from packvault.core.settings import Settings
from packvault.edge import admin
from packvault.edge import purchasing as purchase
from packvault.fairness.proof import check_proof
from packvault.rails.solana import confirm
from packvault.sales import proofs
from packvault_tools.client import Keypair
from tests.faults import Faults

PLATFORM = Keypair.generate().public_key
ADMIN = Keypair.generate().public_key
CHASE = {"pack_id": "chase-v2", "name": "Chase", "status": "ACTIVE", "prices": {"SOL": "0.01"}, "cards_per_pack": 5,
         "supply": {"total": 50},
         "tiers": [{"tier_id": "common", "name": "Common", "probability": "0.1",
                    "items": [{"item_id": "penny", "name": "Penny", "nft_id": "n-penny", "rarity": "common",
                               "fmv": "0.1", "weight": 1}]},
                   {"tier_id": "chase", "name": "Chase", "probability": "0.9",
                    "items": [{"item_id": "crown", "name": "Crown", "nft_id": "n-crown", "rarity": "chase",
                               "fmv": "500", "weight": 1, "stock": 40}]}]}


@pytest.fixture
def env(local_table, solana_node):
    load_catalog(parse_catalog({"schema_version": 1, "packs": [CHASE]}))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PLATFORM_WALLET": PLATFORM,
                                  "SOLANA_RPC_URLS": solana_node.url, "OPERATOR_ROLES": f"{ADMIN}=admin"})
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)


@pytest.fixture
def api(monkeypatch):
    """verify-opening's API calls answered by the same domain functions the handlers call."""
    from packvault.catalog import views as catalog_views
    from packvault.core.errors import PackvaultError
    from packvault.fairness import quote_signing, records
    from packvault_tools import client as api_client

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


def quote_and_pay(env, body=None):
    settings, _, chain = env
    keypair = Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, "chase-v2", body or {}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"])
    return keypair, quote, signature


def open_it(env, keypair, quote, signature, **extra):
    settings, rpc, _ = env
    return confirm.confirm_payment(settings, rpc, keypair.public_key, quote["opening_id"],
                                   {"tx_signature": signature, **extra}).body


def credit_pack_and_wallet(pack_id: str) -> str:
    """CHASE sold for credits under another id, and a wallet with 1,000 credits and a seed pair."""
    from packvault.rails.credits import open as balance_open

    credit_pack = copy.deepcopy(CHASE)
    credit_pack.update(pack_id=pack_id, prices={"CREDIT": "100"})
    load_catalog(parse_catalog({"schema_version": 1, "packs": [credit_pack]}))
    wallet = Keypair.generate().public_key
    store.grant_credits(wallet, 1000, f"grant:{pack_id}", "test", "test")
    balance_open.seeds_view(wallet)
    return wallet


def public_proof(opening_id: str) -> dict:
    return proofs.public_proof(opening_id)["proof"]


def test_the_payment_id_always_enters_the_client_seed(env):
    keypair, quote, signature = quote_and_pay(env, {"client_seed": "chosen at purchase"})
    assert quote["stock_committed"] == {"crown": 40}
    opened = open_it(env, keypair, quote, signature, client_seed="chosen at confirm")  # v3: a confirm seed is dropped
    assert opened["fairness"]["client_seed"] == json.dumps([signature, "chosen at purchase"], separators=(",", ":"))
    keypair, quote, signature = quote_and_pay(env)
    assert open_it(env, keypair, quote, signature)["fairness"]["client_seed"] == f'["{signature}",null]'


def test_stock_withdrawn_after_the_quote_forces_a_redraw_that_is_on_the_record_and_flagged(env):
    keypair, quote, signature = quote_and_pay(env)
    # The operator withdraws the chase card before confirm. The loader refuses while a quote committed to it
    # (test_fairness_v3, lever 2), and the draw counts from the stock chain's head, not the item row (lever 1), so
    # this is a write to the head itself. The proof alone flags it; the chain shows it false (test_fairness_v3).
    head = store.stock_head("chase-v2")
    head.update(actions=[store.StockHeadRecord.stock_totals.set({"crown": 0}),
                         store.StockHeadRecord.left.set({"crown": 0})])
    opened = open_it(env, keypair, quote, signature)
    fairness = opened["fairness"]
    assert fairness["version"] == 3 and fairness["round"] == 1
    (abandoned,) = fairness["abandoned_rounds"]
    assert abandoned["round"] == 0 and abandoned["stock"] == {"crown": 40}
    assert abandoned["short"]["crown"]["committed"] == 40 and abandoned["short"]["crown"]["total"] == 0
    result = check_proof(public_proof(quote["opening_id"]))
    assert result.verdict == "match"
    assert result.warnings and "cut from 40 (committed at quote time) to 0" in result.warnings[0]


def test_a_failed_open_that_was_not_about_stock_never_redraws(env):
    keypair, quote, signature = quote_and_pay(env)
    faults = Faults()
    try:
        faults.inject("TransactWriteItems", faults.seen["TransactWriteItems"] + 1, "cancelled")
        opened = open_it(env, keypair, quote, signature)
    finally:
        faults.close()
    assert faults.fired
    assert opened["fairness"]["round"] == 0 and opened["fairness"]["abandoned_rounds"] == []
    assert check_proof(public_proof(quote["opening_id"])).verdict == "match"


def test_stock_raised_after_the_quote_does_not_move_the_draw_either(env):
    keypair, quote, signature = quote_and_pay(env)
    more = copy.deepcopy(CHASE)
    more["tiers"][1]["items"][0]["stock"] = 45
    admin.patch_pack(ADMIN, "chase-v2", {"tiers": more["tiers"]}, "raise")
    fairness = open_it(env, keypair, quote, signature)["fairness"]
    assert fairness["stock"] == {"crown": 40} and fairness["stock_committed"] == {"crown": 40}


def test_a_forged_or_hidden_round_is_refused_by_the_verifier(env):
    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    proof = public_proof(quote["opening_id"])
    assert check_proof(proof).verdict == "match"
    hidden = {**proof, "round": 1}  # a later round with no abandoned round on the record
    assert check_proof(hidden).verdict == "mismatch"
    forged = {**proof, "round": 1, "abandoned_rounds": [{"round": 0, "stock": proof["stock"], "short": {},
                                                         "items": proof["items"]}]}
    assert any("names no unit" in p for p in check_proof(forged).problems)
    inflated = {**proof, "stock": {"crown": 99}}
    assert any("exceeds" in p for p in check_proof(inflated).problems)
    store.get_opening(quote["opening_id"])  # (the opening itself is untouched by any of this)


def test_a_signed_quote_holds_the_server_to_its_commitment(env, monkeypatch):
    import secrets

    from packvault.fairness import quote_signing
    from packvault.fairness.proof import check_against_quote

    settings, _, _ = env
    signing = settings.model_copy(update={"quote_signing_key": __import__("pydantic").SecretStr(secrets.token_hex(32))})
    monkeypatch.setattr("packvault.core.settings.get_settings", lambda: signing)
    quote_signing._signing_key.cache_clear()
    try:
        keypair, quote, signature = quote_and_pay(env, {"client_seed": "mine"})
        published = quote_signing.public_key()["public_key"]
        assert quote["quote_key"] == published and quote["commitment"]["server_seed_hash"] == quote["server_seed_hash"]
        assert f"memo=packvault%3A{quote['opening_id']}%3A{quote['quote_hash']}" in quote["solana_pay_url"]
        open_it(env, keypair, quote, signature)
        proof = public_proof(quote["opening_id"])
        assert check_against_quote(proof, quote, published) == []

        # The server rewrites the row after the fact: a new seed with a matching hash. The kept quote shows it.
        rewritten = {**proof, "server_seed_hash": "0" * 64}
        assert any("server_seed_hash differs" in p for p in check_against_quote(rewritten, quote, published))
        forged = {**quote, "commitment": {**quote["commitment"], "server_seed_hash": "0" * 64}}
        assert "the quote's commitment does not hash to its quote_hash" in check_against_quote(proof, forged)
        assert any("another key" in p for p in check_against_quote(proof, quote, Keypair.generate().public_key))
    finally:
        quote_signing._signing_key.cache_clear()


def test_the_assets_delivered_are_the_ones_the_quote_committed_to(env):
    keypair, quote, signature = quote_and_pay(env)
    assert quote["items_hash"] == store.get_pack("chase-v2").items_hash
    swapped = copy.deepcopy(CHASE)
    swapped["tiers"][1]["items"][0].update(nft_id="n-crown-fake", fmv="0.01")  # the operator swaps the asset
    admin.patch_pack(ADMIN, "chase-v2", {"tiers": swapped["tiers"]}, "swap")
    opened = open_it(env, keypair, quote, signature)
    crowns = [i for i in opened["items"] if i["item_id"] == "crown"]
    assert crowns and all(i["nft_id"] == "n-crown" and i["fmv"] == "500" for i in crowns)
    proof = public_proof(quote["opening_id"])
    assert check_proof(proof).verdict == "match"
    tampered = copy.deepcopy(proof)
    tampered["delivered"][0]["nft_id"] = "something else"
    assert any("not the committed definition" in p for p in check_proof(tampered).problems)
    relabelled = copy.deepcopy(proof)
    relabelled["item_definitions"][0]["fmv"] = "9999"
    assert any("do not hash to items_hash" in p for p in check_proof(relabelled).problems)


def test_openings_are_in_a_sealed_public_record_and_a_rewrite_shows(env):
    from datetime import UTC, datetime, timedelta

    from packvault.fairness import records

    opened = []
    for _ in range(3):
        keypair, quote, signature = quote_and_pay(env)
        open_it(env, keypair, quote, signature)
        opened.append(quote["opening_id"])
    assert public_proof(opened[0])["inclusion"] is None  # its hour is not over yet
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) >= 1
    proof = public_proof(opened[1])
    inclusion = proof["inclusion"]
    published = records.period_record(inclusion["period"])
    assert inclusion["root"] == published["root"] == records.merkle_root(published["leaves"], published["tree"])
    assert published["count"] == 3 and inclusion["leaf"] in published["leaves"]
    assert check_proof(proof).verdict == "match"
    rewritten = {**proof, "client_seed": proof["client_seed"] + "x"}
    assert any("does not hash to its leaf" in p for p in check_proof(rewritten).problems)
    detoured = {**proof, "inclusion": {**inclusion, "root": "00" * 32}}
    assert any("sealed root" in p for p in check_proof(detoured).problems)
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) == 0  # sealed once


def test_sealed_hours_are_anchored_on_solana_once_and_the_anchor_is_checkable(env):
    """Each sealed hour with openings gets a memo transaction carrying its root, sent by the sweep and confirmed on
    the local node (LiteSVM); the record names it; a root that is not the anchored one is caught. An RPC outage
    leaves the hour for the next run."""
    from datetime import UTC, datetime, timedelta

    from nacl.signing import SigningKey

    from packvault.fairness import anchoring, records

    _, rpc, chain = env
    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    key = SigningKey.generate()
    chain.airdrop(base58.b58encode(bytes(key.verify_key)).decode(), 10**8)
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) >= 1
    down = SolanaRpc(["http://127.0.0.1:9"], attempts_per_url=1)
    assert anchoring.anchor_due(down, key) == 0  # unreachable: nothing recorded, tried again next run
    assert anchoring.anchor_due(rpc, key) == 1
    assert anchoring.anchor_due(rpc, key) == 0  # anchored once
    period = public_proof(quote["opening_id"])["inclusion"]["period"]
    published = records.period_record(period)
    anchor = published["anchor"]
    assert anchor["memo"] == f"packvault-record:{period}:{published['root']}:{published['chain_hash']}"
    assert anchoring.check_anchor(rpc, anchor["signature"], period, published["root"], published["chain_hash"]) == []
    assert anchoring.check_anchor(rpc, anchor["signature"], period, "00" * 32)  # another root: not this anchor


def test_balance_openings_are_in_the_public_record_before_and_after_their_seed_is_revealed(env):
    """A pack opened from the balance writes its leaf in its open transaction, over its proof with the server seed
    null (FAIRNESS.md 9: the seed pair's seed is revealed at rotation); the proof is included in its sealed hour
    before the reveal (incomplete: the seed is not out yet) and after it (match), the same leaf both times."""
    from datetime import UTC, datetime, timedelta

    from packvault.fairness import records
    from packvault.rails.credits import open as balance_open

    settings, _, _ = env
    wallet = credit_pack_and_wallet("chase-record")
    opened = purchase.purchase(settings, wallet, "chase-record", {"currency": "CREDIT"}, None)[1]
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) >= 1
    before = public_proof(opened["opening_id"])
    assert before["inclusion"] is not None and before["server_seed"] is None
    assert check_proof(before).verdict == "incomplete" and not any("leaf" in p or "root" in p
                                                                   for p in check_proof(before).problems)
    balance_open.rotate(wallet, {})
    after = public_proof(opened["opening_id"])
    assert after["server_seed"] and after["inclusion"]["leaf"] == before["inclusion"]["leaf"]
    assert check_proof(after).verdict == "match"
    forged = {**after, "nonce": after["nonce"] + 1}  # the record pins every input of the draw
    assert any("leaf" in p for p in check_proof(forged).problems)


def test_merkle_paths_lead_to_the_root_for_every_leaf_count():
    import hashlib

    from packvault.fairness import records

    for tree in (1, 2):
        for count in range(1, 12):
            leaves = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(count)]
            root = records.merkle_root(leaves, tree)
            for index, value in enumerate(leaves):
                assert records.root_from_path(value, records.inclusion_path(leaves, index, tree), tree) == root
        assert records.merkle_root([], tree) == hashlib.sha256(b"").hexdigest()


def test_tree_2_keeps_leaves_and_inner_nodes_apart():
    """FAIRNESS.md 13.12: in tree 1 the node over two leaves is itself a valid-looking leaf of a one-leaf hour (its
    root); in tree 2 a leaf is hashed with 0x00 and a node with 0x01, so presenting a node as a leaf fails."""
    import hashlib

    from packvault.fairness import records

    leaves = [hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()]
    node = records.merkle_root(leaves, 1)
    assert records.root_from_path(node, [], 1) == records.merkle_root(leaves, 1)  # a node passes as a leaf
    assert records.root_from_path(records.merkle_root(leaves, 2), [], 2) != records.merkle_root(leaves, 2)
    assert records.merkle_root(leaves, 2) != node


def test_a_balance_opening_never_redraws_for_a_failure_that_was_not_about_stock(env):
    settings, _, _ = env
    wallet = credit_pack_and_wallet("chase-credits")
    faults = Faults()
    try:
        faults.inject("TransactWriteItems", faults.seen["TransactWriteItems"] + 1, "cancelled")
        opened = purchase.purchase(settings, wallet, "chase-credits", {"currency": "CREDIT"}, None)[1]
    finally:
        faults.close()
    assert faults.fired
    fairness = opened["fairness"]
    assert (fairness["round"], fairness["abandoned_rounds"], fairness["version"]) == (0, [], 2)


def test_sealing_an_hour_counts_each_packs_openings_once(env, monkeypatch):
    """Unlimited packs carry no opened counter on the open path: their openings are counted when their hour of the
    public record is sealed, exactly once, also for an hour with more packs than one transaction holds."""
    from datetime import UTC, datetime

    from packvault.edge import admin
    from packvault.fairness import records
    from packvault.store import records as record_rows

    period = "2031-01-01T00"
    for n, pack_id in enumerate(["count-a", "count-a", "count-a", "count-b", "count-b", None]):
        store.record_leaf_row(f"3f1c9a52-3a8e-4d55-9d0e-00000000000{n}", f"{period}:1{n}:00.000Z", "ab" * 32,
                              pack_id).save()
    assert records.seal_due(datetime(2031, 1, 1, 2, 10, tzinfo=UTC)) >= 1
    assert store.pack_stats("count-a") == (3, period) and store.pack_stats("count-b") == (2, period)
    assert records.seal_due(datetime(2031, 1, 1, 2, 10, tzinfo=UTC)) == 0
    assert store.pack_stats("count-a") == (3, period)  # sealed (and counted) once

    many = {f"many-{n:03d}": store.HourCounts(1 + n % 3) for n in range(230)}  # five transactions' worth
    real_write, calls = record_rows._write_counts, []

    def dies_at_the_seal(period_, counts, guard, link=None):
        calls.append(guard.pk)
        if guard.pk == record_rows.SEALS_PK:
            raise RuntimeError("the sweep died before sealing")
        return real_write(period_, counts, guard, link)

    monkeypatch.setattr(record_rows, "_write_counts", dies_at_the_seal)
    with pytest.raises(RuntimeError):
        store.put_seal("2031-02-01T00", "00" * 32, 230, many)
    monkeypatch.setattr(record_rows, "_write_counts", real_write)
    assert store.put_seal("2031-02-01T00", "00" * 32, 230, many)  # the next sweep: the chunks are not counted again
    assert all(store.pack_stats(pack_id)[0] == hour.opened for pack_id, hour in many.items())
    assert calls == ["SEALCOUNT#2031-02-01T00"] * 4 + [record_rows.SEALS_PK]
    assert not store.put_seal("2031-02-01T00", "00" * 32, 230, many)

    unlimited = {k: v for k, v in copy.deepcopy(CHASE).items() if k != "supply"}
    unlimited["pack_id"] = "count-a"
    unlimited["tiers"][1]["items"][0].pop("stock")
    load_catalog(parse_catalog({"schema_version": 1, "packs": [unlimited]}))
    summary = admin.pack_summary(store.get_pack("count-a"))
    assert (summary["supply"], summary["opened_count"], summary["opened_count_through"]) == (None, 3, period)


def test_an_hour_left_unsealed_behind_a_sealed_one_is_still_sealed(env):
    """A sweep that died after sealing one hour but before the hour before it: the next run seals that one too."""
    from datetime import UTC, datetime

    from packvault.fairness import records

    for hour in ("2032-03-01T00", "2032-03-01T01"):
        store.record_leaf_row("3f1c9a52-3a8e-4d55-9d0e-000000000099", f"{hour}:30:00.000Z", "cd" * 32,
                              "count-c").save()
    assert store.put_seal("2032-03-01T01", "00" * 32, 1)  # the later hour sealed, the earlier one not
    assert store.get_seal("2032-03-01T00") is None
    assert records.seal_due(datetime(2032, 3, 1, 2, 10, tzinfo=UTC)) >= 1
    assert store.get_seal("2032-03-01T00") is not None and store.pack_stats("count-c")[0] == 1


def test_lever_6_an_aborted_paid_opening_says_why_and_reveals_the_draw_by_the_client_seed_rule(env):
    """Fairness audit lever 6: the operator records a paid, unexpired opening for a refund (a selective abort).
    The buyer's confirm no longer hears "This quote expired" (it had not): it hears the recorded reason. The public
    record's would_have_drawn uses the client seed the open path would have used (the payment's entropy, then the
    purchase seed), so anyone can see what the abort took away."""
    from packvault.core.errors import PackvaultError
    from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening
    from packvault.rails.solana import confirm as solana_confirm

    settings, rpc, _ = env
    keypair, quote, signature = quote_and_pay(env, {"client_seed": "my lucky seed"})
    opening = store.get_opening(quote["opening_id"])
    verdict = solana_confirm._verify(settings, rpc, opening, signature)
    settlement = solana_confirm.solana_settlement(signature, verdict, solana_confirm.payment_terms(settings, opening))
    assert store.mark_refund_due(opening, settlement, "withheld by the operator")  # the operator's abort
    with pytest.raises(PackvaultError) as refused:
        open_it(env, keypair, quote, signature)
    assert str(refused.value.code) == "PAYMENT_REFUND_DUE" and "expired" not in refused.value.message
    assert refused.value.details["reason"] == "withheld by the operator"
    record = proofs.public_proof(quote["opening_id"])
    revealed = record["would_have_drawn"]
    assert revealed["client_seed"] == f'["{signature}","my lucky seed"]'  # FAIRNESS.md 13.2
    drawn = draw_opening(OddsTable.from_document(record["odds_table"]),
                         DrawInputs(record["server_seed"], revealed["client_seed"], quote["opening_id"], 0), {})
    assert revealed["items"] == [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]


def test_lever_8_an_opening_left_out_of_a_sealed_hour_is_a_mismatch_and_an_unsealed_hour_incomplete(
        env, api, capsys):
    """Fairness audit lever 8: the operator deletes an opening's leaf before its hour is sealed. `verify-opening
    --api` said `match` (the proof simply had no inclusion). Now: while the hour is unsealed the verdict is
    `incomplete`; once it is sealed without the leaf, `mismatch`."""
    from datetime import UTC, datetime, timedelta

    from packvault.fairness import records
    from packvault_tools.cli import main

    def verdict(opening_id: str) -> dict:
        main(["verify-opening", opening_id, "--api", "http://api.test"])
        printed = capsys.readouterr()
        assert printed.out, printed.err
        return json.loads(printed.out)

    keypair, quote, signature = quote_and_pay(env)
    open_it(env, keypair, quote, signature)
    assert verdict(quote["opening_id"])["verdict"] == "incomplete"  # its hour is not sealed yet
    opening = store.get_opening(quote["opening_id"])
    store.record_leaf_row(opening.opening_id, opening.opened_at, "", opening.pack_id).delete()  # the operator
    assert records.seal_due(datetime.now(UTC) + timedelta(hours=2)) >= 1
    found = verdict(quote["opening_id"])
    assert found["verdict"] == "mismatch"
    assert any("without this opening's leaf" in problem for problem in found["problems"])


def test_lever_7_a_vault_row_rewritten_after_the_opening_no_longer_matches_its_proof(env, tmp_path, capsys):
    """Fairness audit lever 7: the operator changes the buyer's vault row (name, fair value, NFT id); both verifiers
    said `match`, the proof being built from the opening row. Now the proof records the vault item ids (and its
    leaf commits to them) and `verify-opening --vault` holds the vault to the delivered definitions."""
    from packvault.sales import vault as vault_views
    from packvault_tools.cli import main

    keypair, quote, signature = quote_and_pay(env)
    opened = open_it(env, keypair, quote, signature)
    proof = proofs.public_proof(quote["opening_id"])["proof"]
    assert proof["vault_item_ids"] == [item["vault_item_id"] for item in opened["items"]]
    proof_file, vault_file = tmp_path / "proof.json", tmp_path / "vault.json"
    proof_file.write_text(json.dumps(proof))

    def verdict() -> str:
        vault_file.write_text(json.dumps(vault_views.list_vault(keypair.public_key, 100, None)))
        main(["verify-opening", str(proof_file), "--vault", str(vault_file)])
        return json.loads(capsys.readouterr().out)

    assert verdict()["verdict"] == "match"
    row = next(r for r in store.wallet_vault(keypair.public_key, 100, None).rows
               if r.vault_item_id == proof["vault_item_ids"][0])
    row.update(actions=[store.VaultItemRecord.fmv.set("0.01"), store.VaultItemRecord.name.set("Swapped")])
    found = verdict()
    assert found["verdict"] == "mismatch"
    assert any("is not the definition this opening delivered" in problem for problem in found["problems"])
