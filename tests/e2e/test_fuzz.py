"""Schemathesis against the running local stack, every route: generated valid and invalid requests (a bounded
number per route, derandomised so that a failure reproduces) must never answer 5xx, and every 4xx must be in
the API's error shape, or be one of API Gateway's own answers ({"message": ...} for a missing token, no route,
an oversized request)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from packvault_tools.client import Keypair, PackvaultClient
from tests.e2e.api_description import DESCRIPTION

GATEWAY_ANSWERS = {401: "Unauthorized", 404: "Not Found", 413: "Request Entity Too Large"}
EXAMPLES_PER_ROUTE = 30


OPERATIONS = [(path, method.upper(), mode) for path, methods in DESCRIPTION["paths"].items()
              for method, spec in methods.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")]


@pytest.fixture(scope="module")
def fuzz(stack):
    token = PackvaultClient(stack.base_url).sign_in(Keypair.generate())["token"]
    schema = schemathesis.openapi.from_dict(DESCRIPTION)
    schema.config.update(base_url=stack.base_url, request_timeout=20)
    return schema, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS,
                         ids=[f"{m} {p} {'valid' if g == GenerationMode.POSITIVE else 'invalid'}"
                              for p, m, g in OPERATIONS])
def test_no_request_a_client_can_send_is_a_server_error(fuzz, path, method, mode):
    schema, auth = fuzz
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def probe(case):
        response = case.call(headers=auth, timeout=20)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} " \
                                           f"{response.text}\n{case.as_curl_command()}"
        if response.status_code >= 400:
            body = response.json()
            if "error" in body:
                error = body["error"]
                assert isinstance(error["code"], str) and error["code"].isupper() and error["message"]
                assert error["request_id"]
            else:
                assert body == {"message": GATEWAY_ANSWERS[response.status_code]}, response.text

    probe()
