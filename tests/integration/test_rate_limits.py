"""Per-identity rate limits on DynamoDB Local: under concurrency exactly the limit passes in a window, each
identity and scope counts apart, a new window starts afresh, and a refused request is a 429 in the error shape
with Retry-After."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from local import template
from local.lambdas import LambdaContext, http_api_event
from packvault.core.errors import PackvaultError
from packvault.core.settings import Settings
from packvault.edge import http, ratelimit


@pytest.fixture
def settings(local_table) -> Settings:
    return Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                              "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint})


def allowed(settings: Settings, scope: str, identity: str, now: float) -> bool:
    try:
        ratelimit.enforce(settings, scope, identity, now)
    except PackvaultError as refused:
        assert refused.code == "RATE_LIMITED" and 1 <= refused.details["retry_after_seconds"] <= 60
        return False
    return True


def test_exactly_the_limit_passes_when_many_arrive_at_once(settings):
    limit = ratelimit.LIMITS["sign-in"].per_minute
    now = 1_800_000_000.0
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(lambda _: allowed(settings, "sign-in", "203.0.113.7", now), range(limit * 2)))
    assert outcomes.count(True) == limit


def test_identities_scopes_and_windows_count_apart(settings):
    now = 1_800_000_000.0
    limit = ratelimit.LIMITS["checkout"].per_minute
    assert all(allowed(settings, "checkout", "wallet-a", now) for _ in range(limit))
    assert not allowed(settings, "checkout", "wallet-a", now + 5)
    assert allowed(settings, "checkout", "wallet-b", now)  # another wallet
    assert allowed(settings, "admin-change", "wallet-a", now)  # another scope
    assert allowed(settings, "checkout", "wallet-a", now + 60)  # the next minute


def test_off_when_configured_off(local_table):
    off = Settings.from_env({"STAGE": "dev", "TABLE_NAME": local_table.table_name,
                             "DYNAMODB_ENDPOINT": local_table.dynamodb_endpoint, "RATE_LIMITS": "false"})
    assert all(allowed(off, "sign-in", "203.0.113.8", 1_800_000_000.0) for _ in range(100))


def test_a_refused_request_is_a_429_with_retry_after(settings, monkeypatch):
    monkeypatch.setattr(http, "get_settings", lambda: settings)
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_030.0)  # mid-window: no rollover mid-test
    app = http.create_app()

    @app.post("/limited", middlewares=[http.rate_limited("sign-in")])
    def limited() -> dict:
        return {"ok": True}

    route = template.Route(method="POST", path="/limited", function_id="F", pattern=re.compile("^/limited$"))
    statuses = []
    for _ in range(ratelimit.LIMITS["sign-in"].per_minute + 1):
        event = http_api_event(route, "POST", "/limited", "", {}, b"", {}, "198.51.100.9")
        response = app.resolve(event, LambdaContext("F", 10))
        statuses.append(response["statusCode"])
    assert set(statuses[:-1]) == {200} and statuses[-1] == 429
    assert json.loads(response["body"])["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(response["headers"]["Retry-After"]) <= 60
