"""The local stack's API Gateway emulation: events as HTTP API payload 2.0 and route matching."""

import json

from local import template
from local.lambdas import http_api_event, http_response

ROUTES = template.routes(template.load())


def route_for(method, path):
    for route in ROUTES:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None, None


def test_path_parameters_are_extracted_from_the_template_path():
    route, params = route_for("GET", "/api/v1/packs/genesis-drop")
    assert route.route_key == "GET /api/v1/packs/{pack_id}"
    assert params == {"pack_id": "genesis-drop"}


def test_static_route_wins_and_unknown_paths_do_not_match():
    route, params = route_for("GET", "/api/v1/packs")
    assert route.route_key == "GET /api/v1/packs" and params == {}
    assert route_for("GET", "/api/v1/packs/a/b") == (None, None)
    assert route_for("POST", "/api/v1/packs") == (None, None)


def test_event_is_payload_format_2():
    route, params = route_for("GET", "/api/v1/packs/x")
    event = http_api_event(route, "GET", "/api/v1/packs/x", "a=1&a=2&b=", {"Cookie": "s=1; t=2", "X-Thing": "v"},
                           b'{"k": 1}', params, "127.0.0.1")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /api/v1/packs/{pack_id}"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["headers"] == {"x-thing": "v"}
    assert event["pathParameters"] == {"pack_id": "x"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert json.loads(event["body"]) == {"k": 1} and event["isBase64Encoded"] is False


def test_binary_body_is_base64_encoded():
    route, params = route_for("GET", "/api/v1/packs")
    event = http_api_event(route, "GET", "/api/v1/packs", "", {}, b"\xff\xfe", params, "127.0.0.1")
    assert event["isBase64Encoded"] is True and event["body"] == "//4="


def test_response_mapping_reads_status_headers_and_body():
    status, headers, body = http_response({"statusCode": 404, "headers": {"Content-Type": "application/json"},
                                           "body": '{"error": {}}', "isBase64Encoded": False})
    assert (status, headers["content-type"], body) == (404, "application/json", b'{"error": {}}')


def test_bodies_are_base64_encoded_unless_they_are_utf8_text():
    from local.lambdas import encode_body

    assert encode_body(b'{"a": 1}', "application/json; charset=utf-8") == ('{"a": 1}', False)
    assert encode_body(b"a=1", "application/x-www-form-urlencoded") == ("a=1", False)
    assert encode_body(b"\x00\x01", "application/octet-stream") == ("AAE=", True)
    assert encode_body(b'{"a": 1}', "image/png") == ("eyJhIjogMX0=", True)
    assert encode_body(b"\xdd\xff{}", "application/json") == ("3f97fQ==", True)  # not UTF-8: bytes kept exactly
