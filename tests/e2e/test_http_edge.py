"""What a client can send at the HTTP edge: nothing answers 5xx, every refusal is in the error shape, and the
local API answers what API Gateway (HTTP API) would where a client could notice."""

from __future__ import annotations

import socket

import pytest
import requests

from packvault_tools.client import Keypair, PackvaultClient

BODY_ROUTES = ["/api/v1/auth/nonce", "/api/v1/auth/verify", "/api/v1/packs/genesis-drop/purchase",
               "/api/v1/packs/genesis-drop/checkout",
               "/api/v1/packs/openings/3f1c9a52-3a8e-4d55-9d0e-8f0b7c1e2a11/confirm-payment"]


@pytest.fixture(scope="module")
def token(stack) -> str:
    client = PackvaultClient(stack.base_url)
    return client.sign_in(Keypair.generate())["token"]


def _post(stack, token, path, data, content_type="application/json"):
    return requests.post(f"{stack.base_url}{path}", data=data, timeout=10,
                         headers={"content-type": content_type, "authorization": f"Bearer {token}"})


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(("data", "content_type", "code"), [
    (b"\xdd\xff{}", "application/json", "INVALID_BODY_ENCODING"),
    (b"{not json", "application/json", "INVALID_JSON"),
    (b"[1, 2]", "application/json", "INVALID_JSON"),
    (b'{"a": NaN}', "application/json", "INVALID_JSON"),
    (b"[" * 100000 + b"]" * 100000, "application/json", "PAYLOAD_TOO_LARGE"),
    (b'{"a": "' + b"x" * 70000 + b'"}', "application/json", "PAYLOAD_TOO_LARGE"),
])
def test_unreadable_bodies_are_4xx_in_the_error_shape(stack, token, path, data, content_type, code):
    answer = _post(stack, token, path, data, content_type)
    assert answer.status_code in {400, 413}, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"] and error["request_id"]


def test_a_deeply_nested_but_small_body_is_a_400_not_a_crash(stack, token):
    answer = _post(stack, token, "/api/v1/auth/nonce", b"[" * 20000 + b"]" * 20000)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "INVALID_JSON"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PATCH", "DELETE", "PUT", "HEAD"])
def test_a_method_no_route_knows_is_api_gateways_404(stack, method):
    answer = requests.request(method, f"{stack.base_url}/api/v1/packs", timeout=10)
    assert answer.status_code == 404
    if method != "HEAD":
        assert answer.json() == {"message": "Not Found"}


def _raw_exchange(stack, request: bytes) -> bytes:
    """Send raw bytes; read until the server closes the connection (it does after refusing a body)."""
    with socket.create_connection(("127.0.0.1", int(stack.base_url.rsplit(":", 1)[1])), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    return reply


def test_a_request_over_ten_megabytes_is_413(stack):
    reply = _raw_exchange(stack, b"POST /api/v1/auth/nonce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                                 b"\r\nContent-Length: 10485761\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413") and reply.endswith(b'{"message":"Request Entity Too Large"}')


def test_a_bad_content_length_is_400(stack):
    reply = _raw_exchange(stack, b"POST /api/v1/auth/nonce HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and reply.endswith(b'{"message":"Bad Request"}')


def test_256_concurrent_connections_are_served_without_a_reset(stack):
    from concurrent.futures import ThreadPoolExecutor

    def fetch(_):
        with requests.Session() as session:
            return session.get(f"{stack.base_url}/api/v1/packs/starter-unlimited", timeout=60).status_code

    with ThreadPoolExecutor(max_workers=256) as pool:
        statuses = list(pool.map(fetch, range(256)))
    assert statuses == [200] * 256


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize(("data", "content_type"), [
    (b'{"wallet": "x"}', "text/plain"),
    (b"wallet=x", "application/x-www-form-urlencoded"),
    (b'--b\r\nContent-Disposition: form-data; name="wallet"\r\n\r\nx\r\n--b--\r\n', "multipart/form-data; boundary=b"),
    (b'{"wallet": "x"}', ""),
    (b"\xdd\xff{}", "application/octet-stream"),
])
def test_a_json_route_given_another_content_type_is_a_415(stack, token, path, data, content_type):
    answer = _post(stack, token, path, data, content_type)
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json",
                                          "Application/JSON"])
def test_json_media_types_with_parameters_or_suffixes_are_read(stack, content_type):
    wallet = Keypair.generate().public_key
    answer = _post(stack, "", "/api/v1/auth/nonce", f'{{"wallet": "{wallet}"}}'.encode(), content_type)
    assert answer.status_code == 200 and answer.json()["wallet"] == wallet
