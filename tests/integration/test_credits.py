"""Credits and instant buyback on DynamoDB Local: exact offers, one sale per item under concurrency, the ledger's
invariants under random interleavings of openings, sales and replays (hypothesis, stateful)."""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from packvault import store
from packvault.catalog.loader import load_catalog, read_catalog_file
from packvault.core import money
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.core.settlement import Settlement
from packvault.edge import purchasing as purchase
from packvault.rails.credits import balance as credits
from packvault.sales.settle import open_paid
from packvault_tools.client import Keypair
from tests.conftest import DEMO_CATALOG


@pytest.fixture
def env(local_table):
    load_catalog(read_catalog_file(DEMO_CATALOG))
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name, "MAX_OPEN_QUOTES": "100",
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "BUYBACK_RATE": "0.85",
                              "BUYBACK_WINDOW_HOURS": "72", "PLATFORM_WALLET": Keypair.generate().public_key})


def opened_pack(env, wallet, pack_id="genesis-drop"):
    """A paid and opened pack (the payment is a stand-in settlement: what is tested here starts after it)."""
    _, quote = purchase.purchase(env, wallet, pack_id, {}, None)
    opening = store.get_opening(quote["opening_id"])
    signature = secrets.token_hex(32)
    receipt = open_paid(opening, Settlement("solana", signature, {"received": quote["amount"], "entropy": signature}))
    return store.get_opening(receipt["opening_id"])


def sell(wallet, opening, index=0, now=None):
    return credits.sell_back(wallet, opening.opening_id, opening.items[index]["vault_item_id"], now)


def test_the_offer_is_the_frozen_rate_of_the_fmv_in_whole_credits(env):
    wallet = Keypair.generate().public_key
    opening = opened_pack(env, wallet)
    assert (int(opening.buyback_bp), int(opening.buyback_hours)) == (8500, 72)
    item = opening.items[0]
    offer = credits.buyback_offer(wallet, opening.opening_id, item["vault_item_id"])
    expected = int(money.to_base_units(item["fmv"], 6) * 8500 // 100_000_000)
    assert offer["credits"] == expected and offer["status"] == "available" and offer["rate"] == "0.85"
    assert offer["value_usd"] == money.from_base_units(expected * 10_000, 6)
    assert offer["available_until"] == (datetime.fromisoformat(opening.opened_at.replace("Z", "+00:00"))
                                        + timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_selling_back_credits_the_wallet_once_and_marks_the_item_sold(env):
    wallet = Keypair.generate().public_key
    opening = opened_pack(env, wallet)
    count, fmv = store.vault_total(wallet)
    sale = sell(wallet, opening)
    item = opening.items[0]
    assert sale["status"] == "sold" and sale["credits"] > 0 and sale["balance"] == sale["credits"]
    assert sale["already_sold"] is False
    assert store.vault_total(wallet) == (count - 1, fmv - money.to_base_units(item["fmv"], 6))
    again = sell(wallet, opening)
    assert again["already_sold"] is True and again["balance"] == sale["credits"]
    view = credits.credits_view(wallet, 10, None)
    assert view["balance"] == sale["credits"] and [e["amount"] for e in view["entries"]] == [sale["credits"]]
    posting = store.get_posting(f"buyback:{item['vault_item_id']}")
    assert sum(e["amount"] for e in posting.entries) == 0
    offer = credits.buyback_offer(wallet, opening.opening_id, item["vault_item_id"])
    assert offer["status"] == "sold"


def test_twenty_concurrent_sales_of_one_item_pay_once(env):
    wallet = Keypair.generate().public_key
    opening = opened_pack(env, wallet)
    with ThreadPoolExecutor(max_workers=20) as pool:
        sales = list(pool.map(lambda _: sell(wallet, opening), range(20)))
    assert [s["already_sold"] for s in sales].count(False) == 1
    assert store.credit_balance(wallet) == sales[0]["credits"]
    assert len(store.all_entries(store.wallet_account(wallet))) == 1


def test_no_sale_after_the_window_or_of_someone_elses_item(env):
    wallet = Keypair.generate().public_key
    opening = opened_pack(env, wallet)
    later = datetime.now(UTC) + timedelta(hours=73)
    with pytest.raises(PackvaultError) as expired:
        sell(wallet, opening, now=later)
    assert (expired.value.code, expired.value.details) == ("BUYBACK_UNAVAILABLE", {"status": "expired"})
    with pytest.raises(PackvaultError) as foreign:
        sell(Keypair.generate().public_key, opening)
    assert foreign.value.code == "VAULT_ITEM_NOT_FOUND" and foreign.value.status == 404
    assert store.credit_balance(wallet) == 0


def test_a_zero_rate_pack_has_no_offer(env):
    from packvault.catalog.loader import parse_catalog

    document = json.loads(DEMO_CATALOG.read_text())
    for pack in document["packs"]:
        if pack["pack_id"] == "starter-unlimited":
            pack["buyback"] = {"rate": "0"}
    load_catalog(parse_catalog(document))
    wallet = Keypair.generate().public_key
    opening = opened_pack(env, wallet, "starter-unlimited")
    with pytest.raises(PackvaultError) as refused:
        sell(wallet, opening)
    assert refused.value.details == {"status": "unavailable"}


PLATFORM_ACCOUNTS = ("buyback", "sales", "adjustments")


def platform_total() -> int:
    return sum(int(e.amount) for name in PLATFORM_ACCOUNTS for e in store.all_entries(store.platform_account(name)))


class LedgerMachine(RuleBasedStateMachine):
    """Random interleavings of top-ups (operator grants, replayed by key), spends (packs opened from the balance),
    sales back and replays; after every step every balance is the sum of its entries, none is negative, the
    postings sum to zero across all accounts, and replays changed nothing."""

    env: Settings

    def __init__(self) -> None:
        super().__init__()
        self.wallets = [Keypair.generate().public_key for _ in range(2)]
        self.openings: list[tuple[str, store.OpeningRecord]] = []
        self.expected = dict.fromkeys(self.wallets, 0)
        self.grants: dict[str, tuple[str, int]] = {}
        # the table outlives one example: the platform accounts' earlier entries are the baseline
        self.platform_before = platform_total()

    @rule(who=st.integers(0, 1), amount=st.integers(1, 600), key=st.integers(0, 3))
    def top_up(self, who: int, amount: int, key: int) -> None:
        wallet = self.wallets[who]
        posting_id = f"grant:{self.wallets[0][:8]}-{key}"
        applied = store.grant_credits(wallet, amount, posting_id, "test", "top-up")
        assert applied == (posting_id not in self.grants)  # a replayed key posts nothing
        if applied:
            self.grants[posting_id] = (wallet, amount)
            self.expected[wallet] += amount

    @rule(who=st.integers(0, 1))
    def open_from_the_balance(self, who: int) -> None:
        wallet = self.wallets[who]
        try:
            _, opened = purchase.purchase(self.env, wallet, "starter-unlimited", {"currency": "CREDIT"}, None)
        except PackvaultError as refused:
            assert refused.code == "INSUFFICIENT_CREDITS" and self.expected[wallet] < 250
            return
        self.expected[wallet] -= 250
        self.openings.append((wallet, store.get_opening(opened["opening_id"])))

    @rule(pick=st.integers(0, 1000), index=st.integers(0, 2), again=st.booleans())
    def sell_an_item(self, pick: int, index: int, again: bool) -> None:
        if not self.openings:
            return
        wallet, opening = self.openings[pick % len(self.openings)]
        for _ in range(2 if again else 1):
            sale = sell(wallet, opening, index)
            if not sale["already_sold"]:
                self.expected[wallet] += sale["credits"]

    @invariant()
    def the_ledger_balances(self) -> None:
        total = 0
        for wallet in self.wallets:
            balance = store.credit_balance(wallet)
            assert balance == sum(int(e.amount) for e in store.all_entries(store.wallet_account(wallet))) >= 0
            assert balance == self.expected[wallet]
            total += balance
        assert platform_total() - self.platform_before == -total  # every posting sums to zero


def test_the_ledger_balances_under_random_interleavings(env):
    LedgerMachine.env = env
    runner = LedgerMachine.TestCase
    runner.settings = settings(max_examples=8, stateful_step_count=10, deadline=None, derandomize=True,
                               database=None,
                               suppress_health_check=list(HealthCheck))
    runner().runTest()


def grant(wallet: str, amount: int) -> None:
    """An operator's adjustment (platform adjustments -> wallet), as `packvault credits grant` records it."""
    assert store.grant_credits(wallet, amount, f"grant:{secrets.token_hex(8)}", "test", "test balance")


def test_a_pack_opened_from_the_balance_is_paid_and_opened_in_one_step(env):
    wallet = Keypair.generate().public_key
    grant(wallet, 600)
    status, opened = purchase.purchase(env, wallet, "starter-unlimited", {"currency": "CREDIT"}, "key-1")
    assert status == 201 and opened["status"] == "opened" and len(opened["items"]) == 3
    assert opened["balance"] == 350 and store.credit_balance(wallet) == 350
    assert opened["rail"] == "credits" and opened["fairness"]["scheme"] == "seed-pair"
    assert opened["fairness"]["server_seed"] is None and opened["fairness"]["draw_id"] == "nonce:0"
    assert purchase.purchase(env, wallet, "starter-unlimited", {"currency": "CREDIT"}, "key-1") == (201, opened)
    assert store.credit_balance(wallet) == 350  # the same key: exactly the same answer (balance too), charged once
    entries = store.all_entries(store.wallet_account(wallet))
    assert sorted(int(e.amount) for e in entries) == [-250, 600]


def test_not_enough_credits_is_402_with_the_balance_and_price_and_nothing_written(env):
    wallet = Keypair.generate().public_key
    grant(wallet, 100)
    with pytest.raises(PackvaultError) as refused:
        purchase.purchase(env, wallet, "starter-unlimited", {"payment": "credits"}, None)
    assert (refused.value.status, refused.value.details) == (402, {"balance": 100, "price": 250})
    assert store.credit_balance(wallet) == 100 and store.vault_total(wallet) == (0, 0)


def test_fifty_concurrent_openings_from_a_balance_that_covers_twenty(env):
    from packvault.rails.credits import open as balance_open

    wallet = Keypair.generate().public_key
    grant(wallet, 20 * 250)

    def attempt(_):
        try:
            return balance_open.open_with_credits(env, wallet, "starter-unlimited", {}, None)[1]
        except PackvaultError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(50)))
    opened = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, PackvaultError)]
    assert len(opened) == 20 and {r.code for r in refused} <= {"INSUFFICIENT_CREDITS", "BUSY_RETRY"}
    assert store.credit_balance(wallet) == 0 and store.vault_total(wallet)[0] == 60
    assert sorted(o["balance"] for o in opened) == [250 * n for n in range(20)]  # each answer's balance is exact
    nonces = sorted(o["fairness"]["nonce"] for o in opened)
    assert nonces == list(range(20))  # one nonce per opening, none shared, none skipped


def test_rotation_reveals_the_seed_and_the_balance_openings_verify(env):
    from packvault.fairness.proof import check_proof
    from packvault.rails.credits import open as balance_open
    from packvault.sales import openings

    wallet = Keypair.generate().public_key
    grant(wallet, 500)
    before = balance_open.seeds_view(wallet)
    first = balance_open.open_with_credits(env, wallet, "starter-unlimited", {}, None)[1]
    assert first["fairness"]["server_seed_hash"] == before["server_seed_hash"]
    rotated = balance_open.rotate(wallet, {"client_seed": "my lucky seed"})
    assert rotated["revealed"]["server_seed_hash"] == before["server_seed_hash"]
    assert rotated["client_seed"] == "my lucky seed" and rotated["next_nonce"] == 0
    view = openings.get_own_opening(wallet, first["opening_id"])
    assert view["fairness"]["server_seed"] == rotated["revealed"]["server_seed"]
    table = store.odds_table("starter-unlimited", view["fairness"]["odds_version"])
    assert check_proof({**view["fairness"], "odds_table": table}).match
