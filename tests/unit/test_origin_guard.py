"""Browser-facing mutations check Origin against ALLOWED_ORIGINS; reads and non-browser callers pass."""

from __future__ import annotations

import json
import re

import pytest

from local import template
from local.lambdas import LambdaContext, http_api_event
from packvault.core.settings import Settings
from packvault.edge import http


@pytest.fixture
def app(monkeypatch):
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": "t-origin",
                                  "ALLOWED_ORIGINS": "https://shop.example.com"})
    monkeypatch.setattr(http, "get_settings", lambda: settings)
    app = http.create_app()

    @app.post("/thing")
    def change() -> dict:
        return {"changed": True}

    @app.get("/thing")
    def read() -> dict:
        return {"read": True}

    return app


def call(app, method: str, headers: dict[str, str]) -> tuple[int, dict]:
    route = template.Route(method=method, path="/thing", function_id="F", pattern=re.compile("^/thing$"))
    event = http_api_event(route, method, "/thing", "", headers, b"", {}, "127.0.0.1")
    response = app.resolve(event, LambdaContext("F", 10))
    return response["statusCode"], json.loads(response["body"])


def test_a_mutation_from_another_origin_is_refused_in_the_error_shape(app):
    status, body = call(app, "POST", {"origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == "ORIGIN_NOT_ALLOWED"


@pytest.mark.parametrize(("method", "headers"), [
    ("POST", {"origin": "https://shop.example.com"}),
    ("POST", {"origin": "https://shop.example.com/"}),
    ("POST", {}),  # a server or the CLI: no Origin
    ("GET", {"origin": "https://evil.example"}),  # reads change nothing
])
def test_allowed_origins_no_origin_and_reads_pass(app, method, headers):
    assert call(app, method, headers)[0] == 200
