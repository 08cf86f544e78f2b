"""Per-stack state for the local tools: each `make run` has its own file; with several running the tools ask which
(PORT / PACKVAULT_PORT) instead of guessing; files of dead processes are ignored; a port taken between its check
and its bind moves the server to another port (or is one line when the port was asked for)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from local import stack as local_stack
from packvault_tools import devstack


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("PACKVAULT_STATE", raising=False)
    monkeypatch.delenv("PACKVAULT_PORT", raising=False)
    (tmp_path / "template.yaml").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _state(port: int) -> dict:
    return {"api": f"http://127.0.0.1:{port}", "table_name": f"t{port}"}


def test_each_stack_writes_and_removes_only_its_own_file(checkout):
    devstack.write_state(_state(3000), 3000)
    devstack.write_state(_state(3100), 3100)
    assert sorted(p.name for p in (checkout / ".local-stack").glob("stack-*.json")) == ["stack-3000.json",
                                                                                       "stack-3100.json"]
    devstack.remove_state(3100)
    assert devstack.read_state() == {**_state(3000), "pid": os.getpid()}


def test_several_running_stacks_are_named_and_a_port_chooses(checkout, monkeypatch):
    devstack.write_state(_state(3000), 3000)
    devstack.write_state(_state(3100), 3100)
    with pytest.raises(devstack.SeveralStacks, match=r"2 local stacks are running \(ports 3000, 3100\)"):
        devstack.read_state()
    assert devstack.read_state(3100)["table_name"] == "t3100"
    monkeypatch.setenv("PACKVAULT_PORT", "3000")
    assert devstack.read_state()["table_name"] == "t3000"
    with pytest.raises(SystemExit, match="make demo: 2 local stacks"):
        monkeypatch.delenv("PACKVAULT_PORT")
        devstack.read_state_or_exit("make demo")


def test_a_dead_stacks_file_is_ignored(checkout):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = checkout / ".local-stack" / "stack-3200.json"
    path.parent.mkdir()
    path.write_text(json.dumps({**_state(3200), "pid": int(gone.stdout)}))
    assert devstack.read_state() is None and devstack.running_stacks() == {}


def test_a_port_taken_after_its_check_moves_to_a_free_one_unless_it_was_asked_for():
    tried = []

    def start(port):
        tried.append(port)
        if len(tried) == 1:
            raise OSError(98, "Address already in use")
        return port

    args = argparse.Namespace(solana_port=8899)
    assert local_stack.on_a_free_port(start, args, "solana_port", set()) == args.solana_port != 8899
    tried.clear()
    with pytest.raises(local_stack.StartFailed, match=r"port 8899 \(--solana-port\) is already in use"):
        local_stack.on_a_free_port(start, argparse.Namespace(solana_port=8899), "solana_port", {"solana_port"})
