"""The local stack as a user runs it (`python -m local`, what `make run` calls), on this session's
DynamoDB Local and a fresh table, reached over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from local.dynamodb import free_port
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def api(dynamodb_local) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TABLE_NAME", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port), "--dynamodb-endpoint", dynamodb_local.endpoint,
         "--table-name", f"e2e-{uuid.uuid4().hex[:10]}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited:\n{process.stdout.read()}")
        try:
            if requests.get(f"{base}/api/v1/packs", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"local stack not ready:\n{process.stdout.read()}")
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=15)
