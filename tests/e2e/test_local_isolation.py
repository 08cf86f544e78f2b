"""The local stack is faithful under concurrency (DESIGN invariant 19): one container serves one event at a time
with its own module state, so concurrent requests to one function never see each other's events. Powertools keeps
the current event on a class attribute: when a function's containers were threads of one process, a request whose
handler waited on DynamoDB (the sign-in rate limit) before reading its body read another request's body."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from packvault_tools.client import Keypair, PackvaultClient


class _FromAddress(HTTPAdapter):
    """Connects from the given loopback address (all of 127.0.0.0/8 is this machine), as distinct clients would."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def test_concurrent_requests_to_one_function_each_get_their_own_answer(limited_stack):
    """With the rate limits on (as deployed), the sign-in limit's DynamoDB call comes before the body is read."""
    wallets = [Keypair.generate().public_key for _ in range(60)]
    start = threading.Barrier(len(wallets))

    def ask(n: int) -> tuple[str, int, dict]:
        session = requests.Session()
        session.mount("http://", _FromAddress(f"127.0.0.{10 + n}"))  # one client per address: under the IP limit
        start.wait()
        answer = session.post(f"{limited_stack.base_url}/api/v1/auth/nonce", json={"wallet": wallets[n]}, timeout=60)
        return wallets[n], answer.status_code, answer.json()

    with ThreadPoolExecutor(len(wallets)) as pool:
        answers = list(pool.map(ask, range(len(wallets))))
    wrong = [(wallet, status, body) for wallet, status, body in answers
             if status != 200 or body.get("wallet") != wallet or wallet not in body.get("message", "")]
    assert not wrong, f"{len(wrong)} of {len(answers)} answers were not for their own request: {wrong[:3]}"


def test_concurrent_buyer_requests_keep_their_own_identity(stack):
    """The authorizer's answer and the handler's event travel together: each buyer sees only their own openings."""
    buyers = []
    for _ in range(12):
        keypair = Keypair.generate()
        buyers.append((keypair.public_key, PackvaultClient(stack.base_url).sign_in(keypair)["token"]))
    jobs = [(buyer, n) for buyer in buyers for n in range(3)]
    start = threading.Barrier(len(jobs))

    def purchase(job: tuple[tuple[str, str], int]) -> tuple[str, int, dict]:
        (wallet, token), n = job
        start.wait()
        answer = requests.post(f"{stack.base_url}/api/v1/packs/starter-unlimited/purchase", json={},
                               headers={"authorization": f"Bearer {token}", "idempotency-key": f"{wallet}-{n}"},
                               timeout=60)
        return wallet, answer.status_code, answer.json()

    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(purchase, jobs))
    assert all(status == 201 for _, status, _ in answers), [a for a in answers if a[1] != 201][:3]
    for wallet, token in buyers:
        mine = requests.get(f"{stack.base_url}/api/v1/me/openings", headers={"authorization": f"Bearer {token}"},
                            timeout=30).json()["openings"]
        assert len(mine) == 3
        assert {o["opening_id"] for o in mine} == {body["opening_id"] for w, _, body in answers if w == wallet}


def test_a_buyer_on_an_admin_change_route_is_refused_for_the_role_never_counted_by_the_limit(limited_stack):
    client = PackvaultClient(limited_stack.base_url)
    client.sign_in(Keypair.generate())
    session = requests.Session()
    statuses = []
    for n in range(ratelimit_per_minute("admin-change") + 5):
        answer = session.post(f"{limited_stack.base_url}/api/v1/admin/packs/genesis-drop/deactivate", json={},
                              headers={"authorization": f"Bearer {client.token}", "idempotency-key": f"k-{n}"},
                              timeout=30)
        statuses.append((answer.status_code, answer.json()["error"]["code"]))
    assert set(statuses) == {(403, "FORBIDDEN")}


def ratelimit_per_minute(scope: str) -> int:
    from packvault.edge import ratelimit

    return ratelimit.LIMITS[scope].per_minute
