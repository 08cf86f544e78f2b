"""The per-request account check: an open account is remembered for ACCOUNT_CHECK_SECONDS per container (the
window API Gateway caches authorizer answers for), a refusal never is."""

from __future__ import annotations

import pytest

from packvault.accounts import principal
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.edge import http


def test_open_is_remembered_for_a_minute_and_a_refusal_never(monkeypatch):
    reads: list[str] = []
    closed: set[str] = set()
    clock = [1000.0]

    def require_open(account: str) -> None:
        reads.append(account)
        if account in closed:
            raise PackvaultError(ErrorCode.ACCOUNT_CLOSED)

    monkeypatch.setattr(principal, "require_open", require_open)
    monkeypatch.setattr(http.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(http, "_OPEN_SINCE", {})
    http._check_open("acct_aaaaaaaaaaaaaaaaaaaaaaaa")
    http._check_open("acct_aaaaaaaaaaaaaaaaaaaaaaaa")
    assert len(reads) == 1
    closed.add("acct_aaaaaaaaaaaaaaaaaaaaaaaa")
    clock[0] += http.ACCOUNT_CHECK_SECONDS - 1
    http._check_open("acct_aaaaaaaaaaaaaaaaaaaaaaaa")  # still inside the window
    clock[0] += 1
    for _ in range(2):
        with pytest.raises(PackvaultError) as refused:
            http._check_open("acct_aaaaaaaaaaaaaaaaaaaaaaaa")
        assert refused.value.code == ErrorCode.ACCOUNT_CLOSED
    assert len(reads) == 3
