"""Confirm payment on DynamoDB Local, with real signed transactions executed by LiteSVM and read back
through the production RPC client: exactly one opening per payment, one set of items per opening."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from solders.keypair import Keypair as SoldersKeypair

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.fairness.proof import check_proof
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PLATFORM = Keypair.generate().public_key


@pytest.fixture
def env(local_table, solana_node):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PLATFORM_WALLET": PLATFORM,
                                  "SOLANA_RPC_URLS": solana_node.url, "MAX_OPEN_QUOTES": "10"})
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)


def buyer(wallet: RpcWallet) -> tuple[str, SoldersKeypair]:
    keypair = Keypair.generate()
    signer = solders_keypair(keypair)
    wallet.airdrop(keypair.public_key, 5 * 10**9)
    return keypair.public_key, signer


def quote(settings, address, pack_id="starter-unlimited"):
    return purchase.purchase(settings, address, pack_id, {}, None)[1]


def pay(wallet, signer, q, lamports=None, **changes):
    return wallet.pay(signer, changes.pop("recipient", q["receiver_wallet"]),
                      lamports if lamports is not None else int(q["amount_base_units"]),
                      reference=changes.pop("reference", q["reference"]), memo=f"packvault:{q['opening_id']}",
                      **changes)


def attempt(call):
    try:
        return call()
    except PackvaultError as refused:
        return refused


def confirm_with(settings, rpc, address, q, signature, chain="SOL"):
    return confirm.confirm_payment(settings, rpc, address, q["opening_id"], {"tx_signature": signature,
                                                                            "chain": chain})


def test_a_real_payment_opens_the_pack_with_items_in_the_vault(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address, "genesis-drop")
    signature = pay(wallet, signer, q)
    outcome = confirm_with(settings, rpc, address, q, signature, chain=" solana ")
    assert outcome.status_code == 200
    body = outcome.body
    assert body["status"] == "opened" and len(body["items"]) == 5
    assert {"vault_item_id", "nft_id", "rarity", "fmv", "metadata", "name", "tier_id"} <= set(body["items"][0])
    assert body["payment"]["received"] == "0.25" and body["payment"]["payer"] == address
    vault = store.wallet_vault(address, 50, None).rows
    assert sorted(v.vault_item_id for v in vault) == sorted(i["vault_item_id"] for i in body["items"])
    pack = store.get_pack("genesis-drop")
    assert (pack.supply_available, pack.supply_reserved, pack.supply_sold) == (19, 0, 1)
    events = [e.event_type for e in store.events_of(store.opening_pk(q["opening_id"]))]
    assert events == ["QUOTED", "OPENED"]
    proof = dict(body["fairness"], odds_table=store.odds_table("genesis-drop", body["fairness"]["odds_version"]))
    assert check_proof(proof).match


def test_repeated_confirms_return_identical_items_and_create_nothing_new(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    signature = pay(wallet, signer, q)
    first = confirm_with(settings, rpc, address, q, signature).body
    again = confirm_with(settings, rpc, address, q, signature).body
    assert first == again
    assert len(store.wallet_vault(address, 50, None).rows) == 3


def test_twenty_concurrent_confirms_open_once_with_twenty_identical_answers(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address, "genesis-drop")
    signature = pay(wallet, signer, q)
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda _: attempt(lambda: confirm_with(settings, rpc, address, q, signature)),
                                 range(20)))
    assert all(not isinstance(o, PackvaultError) for o in outcomes), outcomes
    assert {o.status_code for o in outcomes} == {200}
    assert len({str(o.body["items"]) for o in outcomes}) == 1
    assert len(store.wallet_vault(address, 50, None).rows) == 5
    assert store.get_pack("genesis-drop").supply_sold == 1
    assert [e.event_type for e in store.events_of(store.opening_pk(q["opening_id"]))].count("OPENED") == 1


def test_one_signature_raced_across_two_openings_pays_for_one(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    first, second = quote(settings, address), quote(settings, address)
    # One transaction carrying both references (a buyer trying to pay twice with one payment).
    import base64

    from solders.hash import Hash
    from solders.instruction import AccountMeta, Instruction
    from solders.message import Message
    from solders.pubkey import Pubkey
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction

    ix = transfer(TransferParams(from_pubkey=signer.pubkey(), to_pubkey=Pubkey.from_string(PLATFORM),
                                 lamports=int(first["amount_base_units"])))
    ix = Instruction(ix.program_id, ix.data, [*ix.accounts, AccountMeta(Pubkey.from_string(first["reference"]),
                                                                       False, False),
                                              AccountMeta(Pubkey.from_string(second["reference"]), False, False)])
    blockhash = wallet.rpc("getLatestBlockhash")["value"]["blockhash"]
    tx = Transaction([signer], Message([ix], signer.pubkey()), Hash.from_string(blockhash))
    signature = wallet.rpc("sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"})
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda q: attempt(lambda: confirm_with(settings, rpc, address, q, signature)),
                                [first, second]))
    opened = [r for r in results if not isinstance(r, PackvaultError)]
    refused = [r for r in results if isinstance(r, PackvaultError)]
    assert len(opened) == 1 and len(refused) == 1
    assert (str(refused[0].code), refused[0].status) == ("SIGNATURE_ALREADY_USED", 409)
    assert store.get_payment_claim("solana", signature).opening_id == opened[0].body["opening_id"]


def test_a_signature_already_used_is_refused_for_another_opening(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    first, second = quote(settings, address), quote(settings, address)
    signature = pay(wallet, signer, first)
    confirm_with(settings, rpc, address, first, signature)
    refused = attempt(lambda: confirm_with(settings, rpc, address, second, signature))
    assert str(refused.code) in {"REFERENCE_MISSING", "SIGNATURE_ALREADY_USED"}
    assert store.get_opening(second["opening_id"]).status == "QUOTED"


def test_a_different_signature_for_an_opened_opening_returns_the_original_items_and_claims_nothing(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    original = confirm_with(settings, rpc, address, q, pay(wallet, signer, q)).body
    second_signature = pay(wallet, signer, q)
    assert confirm_with(settings, rpc, address, q, second_signature).body == original
    assert store.get_payment_claim("solana", second_signature) is None


@pytest.mark.parametrize(
    ("make_payment", "code", "status"),
    [
        (lambda w, s, q: pay(w, s, q, lamports=int(q["amount_base_units"]) - 1), "UNDERPAID", 422),
        (lambda w, s, q: pay(w, s, q, recipient=Keypair.generate().public_key), "WRONG_RECIPIENT", 422),
        (lambda w, s, q: pay(w, s, q, reference=Keypair.generate().public_key), "REFERENCE_MISSING", 422),
    ],
    ids=["underpayment", "wrong recipient", "missing reference"],
)
def test_payments_that_do_not_match_the_quote_are_refused(env, make_payment, code, status):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    refused = attempt(lambda: confirm_with(settings, rpc, address, q, make_payment(wallet, signer, q)))
    assert (str(refused.code), refused.status) == (code, status)
    assert store.get_opening(q["opening_id"]).status == "QUOTED"  # nothing written; a good payment still works
    assert confirm_with(settings, rpc, address, q, pay(wallet, signer, q)).status_code == 200


def test_underpayment_names_expected_and_received_amounts(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    refused = attempt(lambda: confirm_with(settings, rpc, address, q, pay(wallet, signer, q, lamports=40_000_000)))
    assert refused.details == {"expected": "0.05", "received": "0.04", "currency": "SOL"}
    assert refused.message == "Amount mismatch: expected 0.05 SOL, received 0.04 SOL."


def test_another_buyers_payment_is_refused(env):
    settings, rpc, wallet = env
    address, _ = buyer(wallet)
    _, stranger = buyer(wallet)
    q = quote(settings, address)
    refused = attempt(lambda: confirm_with(settings, rpc, address, q, pay(wallet, stranger, q)))
    assert str(refused.code) == "SENDER_NOT_SIGNER"


def test_a_separate_fee_payer_is_fine_when_the_buyer_pays(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    _, sponsor = buyer(wallet)
    q = quote(settings, address)
    outcome = confirm_with(settings, rpc, address, q, pay(wallet, signer, q, fee_payer=sponsor))
    assert outcome.status_code == 200 and outcome.body["payment"]["fee_payer"] == str(sponsor.pubkey())


def test_a_failed_transaction_is_refused(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    signature = pay(wallet, signer, q, lamports=10**15, skip_preflight=True)  # more than the buyer has
    refused = attempt(lambda: confirm_with(settings, rpc, address, q, signature))
    assert (str(refused.code), refused.status) == ("PAYMENT_FAILED", 422)


def test_an_unknown_signature_is_pending_and_writes_nothing(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address)
    unseen = str(SoldersKeypair().sign_message(b"never sent"))
    outcome = confirm_with(settings, rpc, address, q, unseen)
    assert (outcome.status_code, outcome.body["code"], outcome.headers) == (202, "PAYMENT_PENDING",
                                                                           {"Retry-After": "5"})
    assert store.get_payment_claim("solana", unseen) is None
    assert confirm_with(settings, rpc, address, q, pay(wallet, signer, q)).status_code == 200


def test_finite_stock_is_decremented_with_the_open(env):
    settings, rpc, wallet = env
    address, signer = buyer(wallet)
    q = quote(settings, address, "vault-chase")
    body = confirm_with(settings, rpc, address, q, pay(wallet, signer, q)).body
    (item,) = body["items"]
    row = store.get_pack_item("vault-chase", item["item_id"])
    assert row.stock_available == row.stock_total - 1
    assert body["fairness"]["stock"][item["item_id"]] == row.stock_total


@pytest.mark.parametrize("chain", ["eth", "", 5, "solana-devnet"])
def test_unknown_chains_are_400(env, chain):
    settings, rpc, wallet = env
    address, _ = buyer(wallet)
    q = quote(settings, address)
    refused = attempt(lambda: confirm_with(settings, rpc, address, q, "1" * 88, chain=chain))
    assert (str(refused.code), refused.status) == ("INVALID_CHAIN", 400)


@pytest.mark.parametrize("signature", ["", "abc", "0" * 88, 12])
def test_malformed_signatures_are_400(env, signature):
    settings, rpc, wallet = env
    address, _ = buyer(wallet)
    q = quote(settings, address)
    refused = attempt(lambda: confirm.confirm_payment(settings, rpc, address, q["opening_id"],
                                                      {"tx_hash": signature, "chain": "sol"}))
    assert (str(refused.code), refused.status) == ("INVALID_TX_SIGNATURE", 400)


def test_dev_bypass_opens_without_a_payment_and_logs_a_warning_naming_the_opening(env):
    import logging

    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append
    service_logger = logging.getLogger("packvault")
    service_logger.addHandler(capture)
    settings, _, wallet = env
    address, _ = buyer(wallet)
    q = quote(settings, address)
    bypass = settings.model_copy(update={"dev_payment_bypass": True})
    unseen = str(SoldersKeypair().sign_message(b"not a payment"))
    outcome = confirm.confirm_payment(bypass, None, address, q["opening_id"], {"tx_signature": unseen})
    assert outcome.status_code == 200 and outcome.body["status"] == "opened"
    service_logger.removeHandler(capture)
    warnings = [r for r in records if "DEV payment bypass" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING" and warnings[0].opening_id == q["opening_id"]


def test_the_bypass_refuses_to_start_outside_dev():
    from packvault.core.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="DEV_PAYMENT_BYPASS"):
        Settings.from_env({"STAGE": "prod", "TABLE_NAME": "ttt", "DEV_PAYMENT_BYPASS": "true"})
