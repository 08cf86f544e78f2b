"""Expiry and reconciliation on DynamoDB Local with LiteSVM payments: units released exactly once, and
no payment ever dropped."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.chain.rpc import SolanaRpc
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.edge import sweeping as expiry
from packvault.rails.solana import confirm
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG

PLATFORM = Keypair.generate().public_key
LATER = datetime.now(UTC) + timedelta(hours=1)  # a sweep "an hour from now": every quote is due


@pytest.fixture
def env(local_table, solana_node):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PLATFORM_WALLET": PLATFORM,
                                  "SOLANA_RPC_URLS": solana_node.url, "MAX_OPEN_QUOTES": "100",
                                  "EXPIRY_SHARDS": "4"})
    return settings, SolanaRpc([solana_node.url]), RpcWallet(solana_node.url)


def new_buyer(wallet):
    keypair = Keypair.generate()
    wallet.airdrop(keypair.public_key, 5 * 10**9)
    return keypair.public_key, solders_keypair(keypair)


def quote(settings, address, pack_id="genesis-drop"):
    return purchase.purchase(settings, address, pack_id, {}, None)[1]


def pay(wallet, signer, q):
    return wallet.pay(signer, q["receiver_wallet"], int(q["amount_base_units"]), reference=q["reference"])


def backdate(q, seconds=3600):
    """As if the quote had been made `seconds` earlier: its expiry (and index key) move into the past."""
    opening = store.get_opening(q["opening_id"])
    past = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")
    opening.update(actions=[store.OpeningRecord.quote_expires_at.set(past), store.OpeningRecord.expires_at.set(past)])


def counters(pack_id="genesis-drop"):
    pack = store.get_pack(pack_id)
    return int(pack.supply_available), int(pack.supply_reserved), int(pack.supply_sold)


def test_an_unpaid_quote_expires_and_its_unit_comes_back_once(env):
    settings, rpc, wallet = env
    address, _ = new_buyer(wallet)
    q = quote(settings, address)
    assert counters() == (19, 1, 0)
    report = expiry.sweep(settings, rpc, now=LATER)
    assert (report.expired, report.released_units) == (1, 1)
    assert store.get_opening(q["opening_id"]).status == "EXPIRED"
    assert counters() == (20, 0, 0)
    assert store.open_quote_count(address) == 0
    assert store.wallet_pack_count(address, "genesis-drop") == 0  # the mint limit counts it no more
    again = expiry.sweep(settings, rpc, now=LATER)
    assert again.expired == 0 and counters() == (20, 0, 0)
    assert [e.event_type for e in store.events_of(store.opening_pk(q["opening_id"]))] == ["QUOTED", "EXPIRED"]


def test_a_quote_not_yet_due_is_left_alone(env):
    settings, rpc, wallet = env
    address, _ = new_buyer(wallet)
    q = quote(settings, address)
    assert expiry.sweep(settings, rpc).expired == 0
    assert store.get_opening(q["opening_id"]).status == "QUOTED"


def test_a_payment_made_in_time_but_never_confirmed_is_opened_by_the_sweep(env):
    settings, rpc, wallet = env
    address, signer = new_buyer(wallet)
    q = quote(settings, address)
    signature = pay(wallet, signer, q)
    report = expiry.sweep(settings, rpc, now=LATER)
    assert report.opened == 1
    opening = store.get_opening(q["opening_id"])
    assert (opening.status, opening.tx_signature) == ("OPENED", signature)
    assert len(store.wallet_vault(address, 50, None).rows) == 5
    assert counters() == (19, 0, 1)


def test_a_payment_after_expiry_becomes_refund_due_with_amount_payer_and_signature(env):
    settings, rpc, wallet = env
    address, signer = new_buyer(wallet)
    q = quote(settings, address)
    backdate(q)
    signature = pay(wallet, signer, q)
    report = expiry.sweep(settings, rpc, now=LATER)
    assert (report.late_payments, report.refunds_due) == (1, 1)
    opening = store.get_opening(q["opening_id"])
    assert opening.status == "REFUND_DUE"
    assert (opening.payment["received"], opening.payment["payer"], opening.tx_signature) == ("0.25", address,
                                                                                          signature)
    assert counters() == (20, 0, 0)
    assert [o.opening_id for o in store.refunds_due()] == [q["opening_id"]]
    assert store.mark_refunded(opening, {"refund_signature": signature}, "ops")  # the operator's refund is recorded
    assert store.get_opening(q["opening_id"]).status == "REFUNDED" and store.refunds_due() == []


def test_a_watched_expired_opening_paid_in_time_is_reopened_when_found(env):
    settings, rpc, wallet = env
    address, signer = new_buyer(wallet)
    q = quote(settings, address)
    expiry.sweep(settings, None, now=LATER)  # the RPC is down: nothing found, the quote expires
    assert store.get_opening(q["opening_id"]).status == "EXPIRED"
    pay(wallet, signer, q)  # landed before the quote's expiry (LiteSVM stamps the real time)
    report = expiry.sweep(settings, rpc, now=LATER + timedelta(minutes=5))
    assert report.opened == 1
    assert store.get_opening(q["opening_id"]).status == "OPENED"
    assert counters() == (19, 0, 1)


def test_confirm_honours_a_payment_made_in_time_on_an_expired_quote(env):
    settings, rpc, wallet = env
    address, signer = new_buyer(wallet)
    q = quote(settings, address)
    signature = pay(wallet, signer, q)
    expiry.sweep(settings, None, now=LATER)
    outcome = confirm.confirm_payment(settings, rpc, address, q["opening_id"], {"tx_signature": signature})
    assert outcome.status_code == 200 and outcome.body["status"] == "opened"
    assert counters() == (19, 0, 1)


def test_confirm_of_a_late_payment_answers_410_with_the_refund_status(env):
    settings, rpc, wallet = env
    address, signer = new_buyer(wallet)
    q = quote(settings, address)
    backdate(q)
    signature = pay(wallet, signer, q)
    with pytest.raises(PackvaultError) as refused:
        confirm.confirm_payment(settings, rpc, address, q["opening_id"], {"tx_signature": signature})
    assert (refused.value.status, str(refused.value.code)) == (410, "PAYMENT_AFTER_EXPIRY")
    assert refused.value.details["refund_status"] == "refund_due"
    assert store.get_opening(q["opening_id"]).status == "REFUND_DUE"
    with pytest.raises(PackvaultError) as again:
        confirm.confirm_payment(settings, rpc, address, q["opening_id"], {"tx_signature": signature})
    assert again.value.status == 410


def test_the_sweeper_racing_a_confirm_leaves_one_outcome_with_supply_counted_once(env):
    settings, rpc, wallet = env
    for _ in range(5):
        address, signer = new_buyer(wallet)
        q = quote(settings, address)
        signature = pay(wallet, signer, q)
        with ThreadPoolExecutor(max_workers=2) as pool:
            racing_confirm = pool.submit(confirm.confirm_payment, settings, rpc, address, q["opening_id"],
                                         {"tx_signature": signature})
            racing_sweep = pool.submit(expiry.sweep, settings, rpc, now=LATER)
            assert racing_confirm.result().status_code == 200
            racing_sweep.result()
        assert store.get_opening(q["opening_id"]).status == "OPENED"
        assert len(store.wallet_vault(address, 50, None).rows) == 5
    available, reserved, sold = counters()
    assert (available, reserved, sold) == (15, 0, 5)


def test_two_sweepers_racing_release_each_unit_exactly_once(env):
    settings, rpc, wallet = env
    quotes = []
    for _ in range(4):
        address, _ = new_buyer(wallet)
        quotes += [quote(settings, address) for _ in range(5)]  # genesis-drop allows 5 per wallet: all 20 units
    assert counters() == (0, 20, 0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: expiry.sweep(settings, rpc, now=LATER), range(2)))
    assert sum(r.expired for r in reports) == 20
    assert counters() == (20, 0, 0)
    for q in quotes:
        events = [e.event_type for e in store.events_of(store.opening_pk(q["opening_id"]))]
        assert events.count("EXPIRED") == 1


def test_a_sweep_stops_cleanly_before_its_deadline_and_the_next_run_finishes(env):
    settings, _, wallet = env
    address, _ = new_buyer(wallet)
    for _ in range(3):
        quote(settings, address, "starter-unlimited")
    budget = iter([10**9, 0, 0, 0, 0])
    first = expiry.sweep(settings, None, millis_left=lambda: next(budget, 0), now=LATER)
    assert (first.complete, first.expired) == (False, 1)
    second = expiry.sweep(settings, None, now=LATER)
    assert (second.complete, second.expired) == (True, 2)


def test_a_thousand_expired_quotes_are_released_in_one_run(env):
    settings, _, _ = env
    wallets = [Keypair.generate().public_key for _ in range(10)]
    limited = store.get_pack("vault-chase")  # limited to 60: the rest are unlimited starter packs
    jobs = [(wallets[n % 10], "vault-chase" if n < 60 else "starter-unlimited") for n in range(1000)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda job: purchase.purchase(settings, job[0], job[1], {}, None), jobs))
    assert counters("vault-chase") == (0, 60, 0) and limited.supply_total == 60
    report = expiry.sweep(settings, None, now=LATER)
    assert (report.complete, report.expired, report.released_units) == (True, 1000, 60)
    assert counters("vault-chase") == (60, 0, 0)
