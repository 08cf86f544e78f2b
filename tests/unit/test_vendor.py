"""The vendor adapter's contract: the order id as Idempotency-Key and the API key on every call; a delivery on
200/201; a permanent refusal on other 4xx; retries with backoff on timeouts, connection errors, 429 and 5xx,
then "unavailable"."""

from __future__ import annotations

import re

import requests
import responses

from packvault.products import game_credits
from packvault.products.vendor import VendorClient

URL = "https://vendor.example/v1/topups"


def client() -> VendorClient:
    return VendorClient("https://vendor.example/", "key-1", attempts=3, backoff_seconds=0)


@responses.activate
def test_delivered_with_the_order_id_as_idempotency_key():
    responses.post(URL, status=201, json={"delivery_id": "d1", "status": "delivered"})
    delivery = client().deliver("order-1", {"order_id": "order-1"})
    assert (delivery.outcome, delivery.detail["delivery_id"]) == ("delivered", "d1")
    sent = responses.calls[0].request
    assert sent.headers["Idempotency-Key"] == "order-1" and sent.headers["Authorization"] == "Bearer key-1"


@responses.activate
def test_a_4xx_refusal_is_permanent_and_not_retried():
    responses.post(URL, status=422, json={"error": {"code": "ACCOUNT_NOT_FOUND"}})
    assert client().deliver("o", {}).outcome == "rejected"
    assert len(responses.calls) == 1


@responses.activate
def test_busy_answers_and_timeouts_are_retried_then_delivered():
    responses.post(URL, status=503)
    responses.post(URL, body=requests.exceptions.ReadTimeout())
    responses.post(URL, status=200, json={"delivery_id": "d2"})
    assert client().deliver("o", {}).outcome == "delivered"
    assert len(responses.calls) == 3


@responses.activate
def test_still_busy_after_every_attempt_is_unavailable():
    responses.post(URL, status=429, json={"error": "slow down"})
    delivery = client().deliver("o", {})
    assert delivery.outcome == "unavailable" and delivery.detail["status"] == 429
    assert len(responses.calls) == 3


def test_order_numbers_have_seed_001s_form_and_differ():
    numbers = {game_credits.new_order_number(1730000000) for _ in range(200)}
    assert all(re.fullmatch(r"ORD-1730000000-[A-Z0-9]{4}", n) for n in numbers)
    assert len(numbers) > 190  # 36^4 suffixes: collisions are rare, and the order number's own row refuses them
