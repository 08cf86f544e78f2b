"""Schemathesis against the running local stack, every operation of the published document (docs/openapi.json):
generated valid and invalid requests (a bounded number per operation, derandomised so that a failure
reproduces) must never answer 5xx, and every answer must conform to the document: a documented status code,
the documented content type, and a body that matches its schema (errors included: the API's one error shape,
or API Gateway's own {"message": ...}). Operator routes are called with the operator's token, partner routes with a
service token (OAuth client credentials), buyer routes with a buyer's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from packvault_tools.client import Keypair, PackvaultClient
from packvault_tools.openapi import DOCUMENT

EXAMPLES_PER_OPERATION = 25
SPEC = json.loads(DOCUMENT.read_text())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

OPERATIONS = [(path, method.upper(), mode) for path, methods in SPEC["paths"].items()
              for method, spec in methods.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")]


@pytest.fixture(scope="module")
def fuzz(stack):
    buyer = PackvaultClient(stack.base_url).sign_in(Keypair.generate())["token"]
    operator_keypair = Keypair.load(json.loads(Path(stack.state_file).read_text())["admin_keypair"])
    operator = PackvaultClient(stack.base_url).sign_in(operator_keypair)["token"]
    created = PackvaultClient(stack.base_url, operator).request(
        "POST", "/api/v1/admin/service-clients", {"name": "fuzz", "scopes": ["entitlements:consume",
                                                                             "entitlements:read"]},
        headers={"idempotency-key": "fuzz-service-client"})
    service = PackvaultClient(stack.base_url).session.post(
        f"{stack.base_url}/api/v1/oauth/token", data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]), timeout=10).json()["access_token"]
    schema = schemathesis.openapi.from_dict(SPEC)
    schema.config.update(base_url=stack.base_url, request_timeout=20)
    return schema, {"buyer": {"Authorization": f"Bearer {buyer}"}, "operator": {"Authorization": f"Bearer {operator}"},
                    "service": {"Authorization": f"Bearer {service}"}}


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS,
                         ids=[f"{m} {p} {'valid' if g == GenerationMode.POSITIVE else 'invalid'}"
                              for p, m, g in OPERATIONS])
def test_every_answer_conforms_to_the_published_document(fuzz, path, method, mode):
    schema, tokens = fuzz
    operation = schema[path][method]
    partner = any("service" in requirement for requirement in SPEC["paths"][path][method.lower()]["security"])
    auth = tokens["operator" if path.startswith("/api/v1/admin/") else "service" if partner else "buyer"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def probe(case):
        response = case.call(headers=auth, timeout=20)
        case.validate_response(response, checks=CHECKS)

    probe()
