"""Pull statistics on DynamoDB Local: openings through the real open paths (balance and Solana), their hour sealed
by the sweep's own code, then GET /api/v1/packs/{pack_id}/stats's answer checked against the openings' public
proofs; sealed once; a summary changed under a sweep is never overwritten; drift reaches the operator."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from local.wallet import RpcWallet, solders_keypair
from packvault import store
from packvault.catalog import stats as pack_statistics
from packvault.catalog.loader import load_catalog, parse_catalog
from packvault.chain.rpc import SolanaRpc
from packvault.core.settings import Settings
from packvault.edge import purchasing as purchase
from packvault.fairness import records
from packvault.rails.credits import open as balance_open
from packvault.rails.solana import confirm
from packvault.sales import proofs
from packvault_tools.client import Keypair

PLATFORM = Keypair.generate().public_key
PACK = {"pack_id": "stats-pack", "name": "Stats", "status": "ACTIVE", "prices": {"CREDIT": "10", "SOL": "0.01"},
        "cards_per_pack": 3,
        "tiers": [{"tier_id": "common", "name": "Common", "probability": "0.8",
                   "items": [{"item_id": "penny", "name": "Penny", "nft_id": "n-penny", "rarity": "common",
                              "fmv": "0.1", "weight": 3},
                             {"item_id": "dime", "name": "Dime", "nft_id": "n-dime", "rarity": "common",
                              "fmv": "0.5", "weight": 2}]},
                  {"tier_id": "rare", "name": "Rare", "probability": "0.2",
                   "items": [{"item_id": "crown", "name": "Crown", "nft_id": "n-crown", "rarity": "rare",
                              "fmv": "40", "weight": 1, "stock": 500}]}]}
LATER = timedelta(hours=2)


@pytest.fixture
def env(local_table, solana_node, monkeypatch):
    monkeypatch.setattr(pack_statistics, "CACHE_SECONDS", 0)
    load_catalog(parse_catalog({"schema_version": 1, "packs": [PACK]}))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                                  "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "PLATFORM_WALLET": PLATFORM,
                                  "SOLANA_RPC_URLS": solana_node.url})
    return settings, solana_node


def open_from_balance(settings: Settings, count: int) -> list[str]:
    wallet = Keypair.generate().public_key
    store.grant_credits(wallet, 10 * count, f"grant:{wallet}", "test", "test")
    balance_open.seeds_view(wallet)
    return [balance_open.open_with_credits(settings, wallet, PACK["pack_id"], {}, None)[1]["opening_id"]
            for _ in range(count)]


def open_with_sol(settings: Settings, node) -> str:
    chain, keypair = RpcWallet(node.url), Keypair.generate()
    chain.airdrop(keypair.public_key, 10**9)
    quote = purchase.purchase(settings, keypair.public_key, PACK["pack_id"], {}, None)[1]
    signature = chain.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                          reference=quote["reference"])
    confirm.confirm_payment(settings, SolanaRpc([node.url]), keypair.public_key, quote["opening_id"],
                            {"tx_signature": signature})
    return quote["opening_id"]


def test_the_stats_count_exactly_what_the_public_proofs_drew_once_the_hour_is_sealed(env):
    settings, node = env
    opened = [*open_from_balance(settings, 24), open_with_sol(settings, node)]
    before = pack_statistics.pack_stats(PACK["pack_id"])
    assert before["through"] is None and before["all_time"]["openings"] == 0  # nothing sealed yet: nothing counted

    assert records.seal_due(datetime.now(UTC) + LATER) >= 1
    stats = pack_statistics.pack_stats(PACK["pack_id"])
    drawn = Counter(item["item_id"] for opening_id in opened
                    for item in proofs.public_proof(opening_id)["proof"]["items"])
    for window in (stats["all_time"], stats["last_24_hours"]):
        assert window["openings"] == 25 and window["draws"] == 75
        assert {row["item_id"]: row["count"] for row in window["most_pulled"]} == dict(drawn)
    assert stats["through"] == store.record_period(datetime.now(UTC).isoformat())
    rarest = stats["all_time"]["rarest_pulls"][0]
    assert rarest["item_id"] == "crown" and rarest["probability"] == "0.2" and rarest["name"] == "Crown"
    proof = proofs.public_proof(rarest["opening_id"])["proof"]
    assert "crown" in [item["item_id"] for item in proof["items"]]
    assert stats["all_time"]["biggest_pulls"][0]["fmv"] == "40"

    fit = stats["realized_odds"]
    assert fit["odds_version"] == 1 and fit["chi_square"]["sample_size"] == 75
    tiers = {row["tier_id"]: row for row in fit["slots"][0]["tiers"]}
    assert tiers["rare"]["observed"] == drawn["crown"] and tiers["rare"]["published"] == "0.2"
    assert fit["chi_square"]["valid"] and not fit["drift"]

    assert records.seal_due(datetime.now(UTC) + LATER) == 0  # sealed and counted once
    assert pack_statistics.pack_stats(PACK["pack_id"])["all_time"]["openings"] == 25


def test_the_last_24_hours_leave_out_older_sealed_hours(env):
    settings, _ = env
    open_from_balance(settings, 3)
    now = datetime.now(UTC)
    assert records.seal_due(now + LATER) >= 1
    assert pack_statistics.pack_stats(PACK["pack_id"], now + timedelta(hours=30))["last_24_hours"]["openings"] == 0
    assert pack_statistics.pack_stats(PACK["pack_id"], now + timedelta(hours=30))["all_time"]["openings"] == 3


def test_a_summary_changed_under_a_sealing_sweep_is_not_overwritten_and_the_hour_is_sealed_next_time(env,
                                                                                                   monkeypatch):
    settings, _ = env
    open_from_balance(settings, 4)
    real_summaries = store.pack_summaries

    def another_sweep_sealed_an_hour_meanwhile(pack_ids):
        rows = real_summaries(pack_ids)
        if pack_ids:
            store.put_seal("2020-01-01T00", "00" * 32, 1, {PACK["pack_id"]: store.HourCounts(
                1, json.dumps({"openings": 1}), json.dumps({**records.pull_stats.empty(), "openings": 1}), None)})
        return rows

    monkeypatch.setattr(store, "pack_summaries", another_sweep_sealed_an_hour_meanwhile)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # the hour its openings are in
    sealed = records.seal_due(hour + timedelta(hours=2, minutes=30))  # the empty hour before only: the summary
    assert store.get_seal(hour.strftime("%Y-%m-%dT%H")) is None and sealed == 1  # merged into is gone, and hours
    # are sealed in order, so the run stops at this one
    monkeypatch.setattr(store, "pack_summaries", real_summaries)
    assert records.seal_due(datetime.now(UTC) + LATER) >= 1
    stats = pack_statistics.pack_stats(PACK["pack_id"])
    assert stats["all_time"]["openings"] == 5  # the other hour's one and these four, each once
    assert store.pack_stats(PACK["pack_id"])[0] == 5


def test_a_pack_whose_draws_drift_from_its_published_odds_reaches_the_operator(env):
    """The operator's alarm: leaves whose rare tier never comes (written directly, as a tampered engine would
    draw) make the sweep's seal report the pack; fair ones do not."""
    from packvault.sales.expiry import SweepReport, _odds_drift

    settings, _ = env
    open_from_balance(settings, 2)
    report, drifting = SweepReport(), []
    records.seal_due(datetime.now(UTC) + LATER, lambda pack_id, fit: drifting.append(pack_id))
    assert drifting == []
    later = (datetime.now(UTC) + timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    hour = later.strftime("%Y-%m-%dT%H")  # an hour after the ones just sealed: hours are sealed in order
    for n in range(200):
        opening_id = f"00000000-0000-4000-8000-{n:012d}"
        draws = json.dumps({"v": 1, "d": [[0, "common", "penny", 3, "0.1"]] * 3})
        store.record_leaf_row(opening_id, f"{hour}:{n % 60:02d}:00.000Z", "ab" * 32, PACK["pack_id"], draws).save()
    records.seal_due(later + timedelta(hours=2, minutes=10), lambda pack_id, fit: _odds_drift(pack_id, fit, report))
    assert report.odds_drift == 1
    fit = pack_statistics.pack_stats(PACK["pack_id"])["realized_odds"]
    assert fit["drift"] and fit["chi_square"]["p_value"] < 1e-6
