"""A short version of `make load` in the suite: a few seconds of mixed traffic on a stack of its own, then the
audit. The full run (60 s, 16 users) is `make load`."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_a_short_mixed_load_run_ends_with_a_clean_audit():
    run = subprocess.run([sys.executable, "bench/load.py", "--seconds", "8", "--users", "4"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "server errors: 0 " in run.stdout
    assert "audit: oversold 0, double-opened 0, lost payments 0" in run.stdout
