"""`packvault verify-opening`: a true proof matches; any tampering is named."""

from __future__ import annotations

import copy
import json

import pytest

from packvault.fairness.proof import check_proof
from packvault_tools.cli import main
from tests.unit.test_fairness_vectors import VECTORS


def proof_from_vector(vector) -> dict:
    return {**{k: vector[k] for k in ("opening_id", "server_seed", "server_seed_hash", "client_seed", "round",
                                      "stock", "odds_hash", "odds_table", "items")}, "odds_version": 1}


@pytest.mark.parametrize("vector", VECTORS["openings"], ids=lambda v: v["name"])
def test_published_openings_verify(vector):
    assert check_proof(proof_from_vector(vector)).match


def tampered(change):
    proof = copy.deepcopy(proof_from_vector(VECTORS["openings"][0]))
    change(proof)
    return check_proof(proof)


def test_a_different_seed_than_committed_is_caught():
    result = tampered(lambda p: p.update(server_seed="11" * 32))
    assert not result.match and "committed" in result.problems[0]


def test_edited_odds_are_caught():
    result = tampered(lambda p: p["odds_table"]["items"][0].update(weight=1000))
    assert not result.match and "odds_hash" in result.problems[0]


def test_swapped_item_is_caught_and_located():
    def swap(p):
        p["items"][1] = {"tier_id": "legendary", "item_id": "titan"}
    result = tampered(swap)
    assert not result.match and result.problems[0].startswith("draw 1: published titan")


def test_other_client_seed_is_a_mismatch():
    assert not tampered(lambda p: p.update(client_seed="someone else")).match


def test_cli_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"fairness": proof_from_vector(VECTORS["openings"][2])}))
    assert main(["verify-opening", str(good)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "match"
    bad_proof = proof_from_vector(VECTORS["openings"][2])
    bad_proof["items"] = bad_proof["items"][:-1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_proof))
    assert main(["verify-opening", str(bad)]) == 1
    assert "published 2 items, recomputed 3" in capsys.readouterr().out


def test_a_proof_missing_an_input_is_incomplete_not_a_mismatch(tmp_path):
    result = check_proof({"opening_id": "x", "scheme": "seed-pair", "server_seed": None})
    assert result.verdict == "incomplete" and not result.match
    assert "revealed when the pair is rotated" in result.problems[0]
    partial = tmp_path / "partial.json"
    partial.write_text('{"opening_id": "x"}')
    assert main(["verify-opening", str(partial)]) == 2
