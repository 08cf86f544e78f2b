"""The published OpenAPI document is generated from the code: every route of template.yaml is described, and
the committed copies (docs/openapi.json, the one the API serves) are exactly what the generator writes."""

from __future__ import annotations

import json

import pytest

from local import template
from packvault_tools import openapi


def test_the_committed_documents_are_what_the_generator_writes():
    generated = openapi.render(openapi.generate())
    assert openapi.DOCUMENT.read_text() == generated, "docs/openapi.json is stale: run `make openapi`"
    assert openapi.SERVED.read_text() == generated, "the served copy is stale: run `make openapi`"


def test_every_route_of_the_template_has_exactly_one_operation():
    document = openapi.generate()
    described = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert described == {(route.method, route.path) for route in template.routes(template.load())}
    ids = [op["operationId"] for methods in document["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))


def test_a_route_without_a_description_fails_generation():
    tpl = template.load()
    events = tpl["Resources"]["CatalogFunction"]["Properties"]["Events"]
    events["Undocumented"] = {"Type": "HttpApi", "Properties": {"Path": "/api/v1/undocumented", "Method": "GET",
                                                                 "ApiId": {"Ref": "HttpApi"}}}
    with pytest.raises(ValueError, match="undocumented"):
        openapi.generate(tpl)


def test_secured_routes_say_so_and_public_ones_do_not():
    document = openapi.generate()
    assert document["paths"]["/api/v1/packs"]["get"]["security"] == []
    assert document["paths"]["/api/v1/admin/packs"]["post"]["security"] == [{"bearer": []}]
    admin_create = document["paths"]["/api/v1/admin/packs"]["post"]
    assert {"name": "Idempotency-Key", "in": "header", "required": True,
            "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}} in admin_create["parameters"]
    json.dumps(document)  # plain JSON all the way down


def test_the_document_is_valid_openapi_3_1():
    from openapi_spec_validator import validate

    validate(json.loads(openapi.DOCUMENT.read_text()))
