"""The first hour of a newcomer, kept true: a second `make run` on a busy port says which port in one line,
`make demo` finds a stack on a non-default port by itself and works every time, the README's operator commands
work against the local stack as written, and the demo's own proof passes `packvault verify-opening`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import assert_audit_holds

PACKVAULT = [sys.executable, "-m", "packvault_tools"]


def _env(stack, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PACKVAULT_STATE": stack.state_file, **extra}
    for name in ("TABLE_NAME", "DYNAMODB_ENDPOINT", "PACKVAULT_API", "PACKVAULT_SOLANA_RPC"):
        env.pop(name, None)
    return env


def _run(command: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def stack(demo_stack):
    """This module's demos run on a table of their own, so the audit after them judges only what they did."""
    return demo_stack


def _files(folder: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in Path(folder).iterdir() if path.is_file()}


def test_a_second_stack_on_a_busy_port_says_which_port_in_one_line(stack):
    port = stack.base_url.rsplit(":", 1)[1]
    folder = os.path.dirname(stack.state_file)
    before = _files(folder)
    started = time.monotonic()
    second = _run([sys.executable, "-m", "local", "--port", port], _env(stack))
    assert second.returncode == 1 and time.monotonic() - started < 15
    assert second.stderr.strip().splitlines()[-1] == (
        f"make run: port {port} is already in use (another `make run`?); choose another with "
        "`make run PORT=<port>` or `python -m local --port <port>`")
    assert "Traceback" not in second.stderr
    assert _files(folder) == before  # the running stack's state and operator keypair untouched


def test_the_demo_finds_the_stack_and_works_six_times_in_a_row(stack):
    with open(stack.state_file) as state:
        assert json.load(state)["api"] == stack.base_url  # a non-default port, found by the tools
    for run in range(6):
        demo = _run([sys.executable, "-m", "local.demo"], _env(stack))
        assert demo.returncode == 0, f"run {run + 1}: {demo.stderr}"
    assert '"verdict": "match"' in demo.stdout and '"signed_quote": "holds"' in demo.stdout
    assert_audit_holds(stack)
    proof = os.path.join(os.path.dirname(stack.state_file), "last-proof.json")
    verified = _run([*PACKVAULT, "verify-opening", proof], _env(stack))
    assert verified.returncode == 0 and json.loads(verified.stdout)["verdict"] == "match"


def test_the_readmes_operator_commands_work_against_the_local_stack(stack):
    for command in (["catalog", "validate", "catalog/demo.json"], ["catalog", "load", "catalog/demo.json"],
                    ["refunds", "list"], ["sweep"]):
        result = _run([*PACKVAULT, *command], _env(stack))
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert "Traceback" not in result.stderr
    listed = _run([*PACKVAULT, "refunds", "list"], _env(stack))
    assert listed.stdout.strip() or "packvault: no refunds are due" in listed.stderr  # never silent


def test_without_a_stack_or_a_table_the_tools_say_what_to_do(stack, tmp_path):
    result = _run([*PACKVAULT, "refunds", "list"], _env(stack, PACKVAULT_STATE=str(tmp_path / "none.json")))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no local stack is running: start `make run`" in result.stderr


def test_the_card_credits_and_topup_demos_work_against_the_stack(stack):
    expected = {"card": ['"verdict": "match"', '"signed_quote": "holds"', '"type": "opening.opened"',
                         '"verified": true'],
                "credits": ['"verdict": "match"', "topup +500"],
                "topup": ['"status": "succeeded"', "Game credit purchase successful!"],
                "open-payments": ['"verdict": "match"'],
                "entitlement": ['"retry_is_the_same": true', '"units_remaining": 8', "PACK_CONSUMED by service:"]}
    for pay, markers in expected.items():
        demo = _run([sys.executable, "-m", "local.demo", "--pay", pay], _env(stack))
        assert demo.returncode == 0, f"{pay}: {demo.stderr}"
        assert all(marker in demo.stdout for marker in markers), (pay, demo.stdout[-2000:])
        assert_audit_holds(stack)


def test_a_buyer_without_a_wallet_signs_in_by_email_and_pays_by_card(stack):
    """`make demo PAY=card SIGNIN=email`: the code is read from the local mail, no wallet exists at any point."""
    demo = _run([sys.executable, "-m", "local.demo", "--pay", "card", "--sign-in", "email"], _env(stack))
    assert demo.returncode == 0, demo.stderr
    assert '"wallet": null' in demo.stdout and '"account_id": "acct_' in demo.stdout
    assert '"verdict": "match"' in demo.stdout and '"signed_quote": "holds"' in demo.stdout
    assert "1c. linked" not in demo.stdout  # a card buyer never needs a wallet
    assert '"subject": "Packvault: Your pack is open"' in demo.stdout  # the receipt, by email
    demo = _run([sys.executable, "-m", "local.demo", "--pay", "solana", "--sign-in", "email"], _env(stack))
    assert demo.returncode == 0 and "1c. linked the local keypair" in demo.stdout, demo.stderr
    assert_audit_holds(stack)
