"""Card checkout end to end on the local stack (an unlimited pack: the stack is shared by the e2e session).

The official stripe library talks to the local Stripe double, the buyer pays on the double's hosted page
(driven over HTTP as a browser would post its form), the double delivers the signed webhook, and the pack
opens with its items in the vault."""

from __future__ import annotations

import time

import requests

from packvault_tools.client import ApiError, Keypair, PackvaultClient


def _wait_for(client: PackvaultClient, opening_id: str, status: str, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        view = client.request("GET", f"/api/v1/packs/openings/{opening_id}")
        if view["status"] == status or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def _signed_in(stack) -> PackvaultClient:
    client = PackvaultClient(stack.base_url)
    client.sign_in(Keypair.generate())
    return client


def _checkout(stack, client: PackvaultClient, pack: str = "starter-unlimited", key: str | None = None) -> dict:
    body = {"success_url": f"{stack.base_url}/done?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{stack.base_url}/cancelled"}
    return client.request("POST", f"/api/v1/packs/{pack}/checkout", body,
                          headers={"idempotency-key": key} if key else None)


def test_checkout_pay_on_the_hosted_page_webhook_opens_the_pack(stack):
    client = _signed_in(stack)
    started = _checkout(stack, client, key="card-flow-1")
    assert set(started) >= {"opening_id", "checkout_url", "checkout_session_id", "expires_at"}
    assert started["checkout_url"].startswith(stack.stripe_url) and started["amount"] == "2.49"
    assert _checkout(stack, client, key="card-flow-1") == started  # same key: same answer, no second session

    page = requests.get(started["checkout_url"], timeout=5)
    assert page.status_code == 200 and "Pay 2.49 USD" in page.text
    paid = requests.post(f"{started['checkout_url']}/pay", data={}, allow_redirects=False, timeout=5)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{stack.base_url}/done?session={started['checkout_session_id']}"

    opened = _wait_for(client, started["opening_id"], "opened")
    assert opened["status"] == "opened" and opened["rail"] == "stripe" and len(opened["items"]) == 3
    assert opened["payment"]["checkout_session_id"] == started["checkout_session_id"]
    assert opened["payment"]["received"] == "2.49" and opened["payment"]["currency"] == "USD"
    assert opened["fairness"]["server_seed_hash"] == started["server_seed_hash"]
    vault = client.request("GET", "/api/v1/me/vault")
    assert {i["vault_item_id"] for i in vault["items"]} == {i["vault_item_id"] for i in opened["items"]}

    sessions = [e for e in requests.get(f"{stack.stripe_url}/_double/events", timeout=5).json()["events"]
                if e["type"] == "checkout.session.completed"
                and e["data"]["object"]["id"] == started["checkout_session_id"]]
    assert len(sessions) == 1


def test_a_return_url_off_the_allowed_origins_is_refused_naming_the_field(stack):
    client = _signed_in(stack)
    try:
        client.request("POST", "/api/v1/packs/starter-unlimited/checkout",
                       {"success_url": "https://evil.example/steal", "cancel_url": f"{stack.base_url}/c"})
        raise AssertionError("expected a 400")
    except ApiError as refused:
        assert refused.status == 400
        assert refused.body["error"]["code"] == "VALIDATION_FAILED"
        assert refused.body["error"]["details"] == {"field": "success_url"}


def test_an_unsigned_webhook_is_refused_and_changes_nothing(stack):
    answer = requests.post(f"{stack.base_url}/api/v1/webhooks/stripe", data=b'{"id": "evt_x", "object": "event"}',
                           headers={"stripe-signature": "t=1,v1=00"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"


def _deliveries(stack, session_id: str) -> list[dict]:
    log = requests.get(f"{stack.stripe_url}/_double/events", timeout=5).json()
    ids = {e["id"] for e in log["events"] if e["data"]["object"].get("id") == session_id}
    return [d for d in log["deliveries"] if d["event_id"] in ids]


def _delivery(stack, **options) -> None:
    requests.post(f"{stack.stripe_url}/_double/delivery", json=options, timeout=5).raise_for_status()


def test_every_event_delivered_twice_opens_the_pack_once(stack):
    client = _signed_in(stack)
    _delivery(stack, duplicate=True)
    try:
        started = _checkout(stack, client)
        requests.post(f"{started['checkout_url']}/pay", allow_redirects=False, timeout=5)
        opened = _wait_for(client, started["opening_id"], "opened")
        deadline = time.monotonic() + 10
        while len(_deliveries(stack, started["checkout_session_id"])) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        _delivery(stack, duplicate=False)
    assert [d["status"] for d in _deliveries(stack, started["checkout_session_id"])] == [200, 200]
    assert opened["status"] == "opened"
    vault = client.request("GET", "/api/v1/me/vault")
    assert vault["item_count"] == 3  # one set of items, not two


def test_async_events_delivered_newest_first_still_open_the_pack(stack):
    client = _signed_in(stack)
    started = _checkout(stack, client)
    _delivery(stack, reverse_batch=2)  # hold completed (unpaid), then send succeeded before it
    try:
        requests.post(f"{stack.stripe_url}/_double/sessions/{started['checkout_session_id']}/pay",
                      json={"async": True}, timeout=5).raise_for_status()
        assert client.request("GET", f"/api/v1/packs/openings/{started['opening_id']}")["status"] == "quoted"
        requests.post(f"{stack.stripe_url}/_double/sessions/{started['checkout_session_id']}/async",
                      json={"succeeded": True}, timeout=5).raise_for_status()
        opened = _wait_for(client, started["opening_id"], "opened")
    finally:
        _delivery(stack, reverse_batch=0)
    assert opened["status"] == "opened" and len(opened["items"]) == 3
    delivered = [d["type"] for d in _deliveries(stack, started["checkout_session_id"]) if d["status"] == 200]
    assert delivered == ["checkout.session.async_payment_succeeded", "checkout.session.completed"]
