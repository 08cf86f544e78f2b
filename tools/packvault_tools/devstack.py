"""The local stack's state file: what `make run` started (API, Solana RPC, Stripe double, DynamoDB, table,
platform wallet), so that `make demo` and the `packvault` tools find the running stack by themselves.

Tooling only: no Lambda imports this module. The file is `.local-stack/state.json` in the checkout (or the
path in PACKVAULT_STATE); a file whose process is gone is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_NAME = Path(".local-stack") / "state.json"


def state_path() -> Path:
    if os.environ.get("PACKVAULT_STATE"):
        return Path(os.environ["PACKVAULT_STATE"])
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / STATE_NAME).exists() or (folder / "template.yaml").exists():
            return folder / STATE_NAME
    return Path(__file__).resolve().parents[2] / STATE_NAME


def write_state(state: dict[str, Any]) -> Path:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**state, "pid": os.getpid()}, indent=2))
    temporary.replace(path)
    return path


def remove_state() -> None:
    path = state_path()
    current = read_state()
    if current is not None and current.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_state() -> dict[str, Any] | None:
    """The running stack's state, or None (no file, unreadable, or its process has exited)."""
    try:
        state = json.loads(state_path().read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def local_environment(state: dict[str, Any]) -> dict[str, str]:
    """The variables the functions of that stack run with, for a tool that acts on the same data."""
    environment = {"STAGE": "dev", "TABLE_NAME": state["table_name"], "DYNAMODB_ENDPOINT": state["dynamodb_endpoint"],
                   "AWS_REGION": state.get("region", "us-east-1"), "AWS_ACCESS_KEY_ID": "local",
                   "AWS_SECRET_ACCESS_KEY": "local", "PLATFORM_WALLET": state.get("platform_wallet", ""),
                   "SOLANA_RPC_URLS": state.get("solana_rpc", "")}
    for key in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        if state.get(key.lower()):
            environment[key] = state[key.lower()]
    return environment


def api_url(default: str = "http://127.0.0.1:3000") -> str:
    state = read_state()
    return state["api"] if state else default
