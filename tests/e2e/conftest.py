"""The local stack as a user runs it (`python -m local`, what `make run` calls), on this session's
DynamoDB Local and a fresh table, reached over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests

from local.dynamodb import free_port
from packvault import store
from packvault.core.settings import Settings
from tests.conftest import ROOT


@dataclass(frozen=True)
class Stack:
    base_url: str
    solana_url: str
    stripe_url: str
    state_file: str  # what `make run` writes for the tools (.local-stack/stack-<port>.json), here PACKVAULT_STATE
    settings: Settings  # the table and endpoint the stack uses, for tests that set up records directly


@pytest.fixture(scope="session")
def api(stack: Stack) -> str:
    return stack.base_url


@pytest.fixture
def stack_store(stack: Stack) -> Settings:
    """Binds this test process's data access to the stack's table."""
    store.bind(stack.settings)
    return stack.settings


def _drain(process: subprocess.Popen) -> Callable[[], str]:
    """Read the stack's output as it comes (a pipe nobody reads fills up and blocks every thread that logs) and
    keep its last lines for a failure message."""
    lines: deque[str] = deque(maxlen=400)
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True, name="stack-output").start()
    return lambda: "".join(lines)


@contextmanager
def running_stack(dynamodb_local, state_dir, **environment: str) -> Iterator[Stack]:
    """`python -m local` on a fresh table of this session's DynamoDB Local, ready to answer; stopped on exit."""
    port, solana_port, stripe_port = free_port(), free_port(), free_port()
    table_name = f"e2e-{uuid.uuid4().hex[:10]}"
    state_file = str(state_dir / "state.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PACKVAULT_STATE": state_file, **environment}
    env.pop("TABLE_NAME", None)
    for name in ("SOLANA_RPC_URLS", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE",
                 "CHECKOUT_RETURN_ORIGINS"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port), "--dynamodb-endpoint", dynamodb_local.endpoint,
         "--table-name", table_name, "--solana-port", str(solana_port),
         "--stripe-port", str(stripe_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = _drain(process)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited:\n{output()}")
        try:
            if requests.get(f"{base}/api/v1/packs", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"local stack not ready:\n{output()}")
        time.sleep(0.2)
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": table_name,
                                  "DYNAMODB_ENDPOINT": dynamodb_local.endpoint})
    try:
        yield Stack(base, f"http://127.0.0.1:{solana_port}", f"http://127.0.0.1:{stripe_port}", state_file, settings)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # never leave a stack behind (its containers end when it does)
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def stack(dynamodb_local, tmp_path_factory) -> Iterator[Stack]:
    # Every test signs in from 127.0.0.1: the per-IP sign-in limit is tested on its own (integration).
    with running_stack(dynamodb_local, tmp_path_factory.mktemp("local-stack"), RATE_LIMITS="false") as running:
        yield running


@pytest.fixture(scope="session")
def limited_stack(dynamodb_local, tmp_path_factory) -> Iterator[Stack]:
    """A second stack with the rate limits on, as deployed (its own table)."""
    with running_stack(dynamodb_local, tmp_path_factory.mktemp("limited-stack"), RATE_LIMITS="true") as running:
        yield running


@pytest.fixture(scope="session")
def demo_stack(dynamodb_local, tmp_path_factory) -> Iterator[Stack]:
    """A stack whose table holds only what went through its API (the demos, then `packvault audit` over all of it):
    other tests plant rows directly, which the audit would rightly question."""
    with running_stack(dynamodb_local, tmp_path_factory.mktemp("demo-stack"), RATE_LIMITS="false") as running:
        yield running


def assert_audit_holds(stack: Stack) -> None:
    """`packvault audit` over the stack's whole table, found as a person finds it (the state file): every invariant
    holds after what a demo did."""
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PACKVAULT_STATE": stack.state_file}
    for name in ("TABLE_NAME", "DYNAMODB_ENDPOINT"):
        env.pop(name, None)
    audited = subprocess.run([sys.executable, "-m", "packvault_tools", "audit"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert audited.returncode == 0 and json.loads(audited.stdout)["verdict"] == "ok", audited.stdout + audited.stderr
