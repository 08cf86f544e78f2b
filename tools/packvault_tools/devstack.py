"""The local stack's state file: what `make run` started (API, Solana RPC, Stripe double, DynamoDB, table,
platform wallet), so that `make demo` and the `packvault` tools find the running stack by themselves.

Tooling only: no Lambda imports this module. Each stack has its own file, `.local-stack/stack-<port>.json` in the
checkout (or the one path in PACKVAULT_STATE); a file whose process is gone is ignored, and with several stacks
running the tools ask which (PORT / PACKVAULT_PORT).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LOCAL_DIR = Path(".local-stack")


class SeveralStacks(RuntimeError):
    """More than one local stack runs from this checkout and nothing says which one is meant."""

    def __init__(self, ports: list[int]) -> None:
        listed = ", ".join(str(port) for port in ports)
        super().__init__(f"{len(ports)} local stacks are running (ports {listed}): choose one with PORT=<port> "
                         f"(e.g. `make demo PORT={ports[-1]}`) or PACKVAULT_PORT=<port>")
        self.ports = ports


def local_dir() -> Path:
    """`.local-stack/` of this checkout (or the folder of PACKVAULT_STATE): state files, keypairs, the last proof."""
    if os.environ.get("PACKVAULT_STATE"):
        return Path(os.environ["PACKVAULT_STATE"]).parent
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / LOCAL_DIR).is_dir() or (folder / "template.yaml").exists():
            return folder / LOCAL_DIR
    return Path(__file__).resolve().parents[2] / LOCAL_DIR


def state_path(port: int | None = None) -> Path:
    """PACKVAULT_STATE when set (one explicit file); else each stack's own file, `.local-stack/stack-<port>.json`,
    so that two stacks (or a second `make run` that fails) never touch each other's files."""
    if os.environ.get("PACKVAULT_STATE"):
        return Path(os.environ["PACKVAULT_STATE"])
    return local_dir() / f"stack-{port if port is not None else _wanted_port() or 3000}.json"


def _wanted_port() -> int | None:
    value = os.environ.get("PACKVAULT_PORT", "")
    return int(value) if value.isdigit() else None


def write_state(state: dict[str, Any], port: int) -> Path:
    path = state_path(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({**state, "pid": os.getpid()}, indent=2))
    temporary.replace(path)
    return path


def remove_state(port: int) -> None:
    """This process's state file only (a file another live stack wrote is never removed)."""
    path = state_path(port)
    current = _live(path)
    if current is not None and current.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _live(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def running_stacks() -> dict[int, dict[str, Any]]:
    """Every live stack of this checkout, by API port."""
    if os.environ.get("PACKVAULT_STATE"):
        state = _live(state_path())
        return {int(state["api"].rsplit(":", 1)[1]): state} if state else {}
    found = {}
    for path in sorted(local_dir().glob("stack-*.json")):
        state = _live(path)
        if state is not None:
            found[int(path.stem.removeprefix("stack-"))] = state
    return found


def read_state(port: int | None = None) -> dict[str, Any] | None:
    """The running stack's state: the one on `port` (or PACKVAULT_PORT), else the only one running; None when none
    runs (or none on that port). SeveralStacks when more than one runs and nothing says which."""
    stacks = running_stacks()
    wanted = port if port is not None else _wanted_port()
    if wanted is not None:
        return stacks.get(wanted)
    if len(stacks) > 1:
        raise SeveralStacks(sorted(stacks))
    return next(iter(stacks.values()), None)


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


def read_state_or_exit(tool: str) -> dict[str, Any] | None:
    """read_state for a command-line tool: several running stacks and no choice is one line and exit 2."""
    try:
        return read_state()
    except SeveralStacks as several:
        raise SystemExit(f"{tool}: {several}") from None


def api_url(default: str = "http://127.0.0.1:3000") -> str:
    state = read_state_or_exit("packvault")
    return state["api"] if state else default


def sent_mail(state: dict[str, Any], to: str | None = None) -> list[dict[str, Any]]:
    """What the local stack's functions sent through SES (moto's server keeps every message), oldest first;
    with `to`, only the messages to that address (compared lower-cased)."""
    import requests

    endpoint = state.get("ses_endpoint")
    if not endpoint:
        raise RuntimeError("this stack sends mail through a real SES (SES_ENDPOINT or MAIL_FROM was set at start)")
    messages = requests.get(f"{endpoint}/moto-api/data.json", timeout=10).json().get("ses", {}).get("Message", [])
    found = [{"to": message["destinations"].get("ToAddresses", []), "from": message.get("source"),
              "subject": message.get("subject"), "body": message.get("body")} for message in messages]
    wanted = to.strip().lower() if to else None
    return [m for m in found if wanted is None or wanted in [a.lower() for a in m["to"]]]


def newest_code(state: dict[str, Any], to: str) -> str | None:
    """The sign-in code of the newest message to `to` (the only one that works)."""
    import re

    for message in reversed(sent_mail(state, to)):
        if found := re.search(r"\b([0-9]{6})\b", message["subject"] or ""):
            return found.group(1)
    return None
