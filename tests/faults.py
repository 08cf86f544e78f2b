"""Fault injection for tests: DynamoDB failures at the Nth call of an operation, through botocore's event hooks on
the data layer's own client (nothing in the data layer is mocked), and the audit that every scenario ends with."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from packvault import store


class InjectedCrash(RuntimeError):
    """The process 'died' at this point: whatever was committed stays committed, the caller saw an error."""


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any) -> bytes:
        return self._data


def _error_response(status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
    return AWSResponse("http://dynamodb", status, {"x-amzn-requestid": "injected", "content-type":
                                                    "application/x-amz-json-1.0"}, _Body(body))


@dataclass
class Faults:
    """faults.inject("TransactWriteItems", nth=1, kind="throttle"): the first TransactWriteItems is refused with
    a throttling error (botocore retries it, as in production). Kinds: throttle, server_error, timeout (refused
    before sending), crash_after (the call commits, then the caller gets InjectedCrash)."""

    planned: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    seen: Counter = field(default_factory=Counter)
    fired: list[tuple[str, int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        events = store.connection().client.meta.events
        events.register_first("before-send.dynamodb", self._before_send, unique_id="packvault-faults-send")
        events.register("after-call.dynamodb", self._after_call, unique_id="packvault-faults-after")

    def inject(self, operation: str, nth: int, kind: str) -> Faults:
        self.planned[operation].append((nth, kind))
        return self

    def close(self) -> None:
        events = store.connection().client.meta.events
        events.unregister("before-send.dynamodb", unique_id="packvault-faults-send")
        events.unregister("after-call.dynamodb", unique_id="packvault-faults-after")

    def _due(self, operation: str, kinds: set[str], count: bool) -> str | None:
        with self._lock:
            if count:
                self.seen[operation] += 1
            for nth, kind in self.planned.get(operation, []):
                if nth == self.seen[operation] and kind in kinds and (operation, nth, kind) not in self.fired:
                    self.fired.append((operation, nth, kind))
                    return kind
        return None

    def _before_send(self, request: Any, **_: Any) -> Any:
        operation = (request.headers.get("X-Amz-Target") or b"").decode().rsplit(".", 1)[-1]
        kind = self._due(operation, {"throttle", "server_error", "timeout"}, count=True)
        if kind == "throttle":
            return _error_response(400, "ProvisionedThroughputExceededException")
        if kind == "server_error":
            return _error_response(500, "InternalServerError")
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return None

    def _after_call(self, model: Any, http_response: Any = None, **_: Any) -> None:
        if http_response is not None and http_response.status_code >= 400:
            return
        if self._due(model.name, {"crash_after"}, count=False):
            raise InjectedCrash(f"crashed after {model.name} #{self.seen[model.name]} committed")


def audit() -> dict[str, int]:
    """Reads every row and checks the invariants; returns the counts it checked. Raises AssertionError naming
    what is wrong: a payment claimed by nothing opened or owed, an opening with items twice or missing,
    supply counters that disagree with the openings, vault totals, quote counters, or an unbalanced ledger."""
    rows = list(store.Row.scan())
    openings = {o.opening_id: o for o in (store.get_opening(r.pk.removeprefix("OPENING#")) for r in rows
                                          if r.sk == "OPENING")}
    claims = [store.get_payment_claim(*r.pk.split("#", 2)[1:]) for r in rows if r.sk == "PAYMENT"]
    vault = [store.VaultItemRecord.get(r.pk, r.sk) for r in rows if r.sk.startswith("VAULT#")]
    for claim in claims:
        opening = openings.get(claim.opening_id)
        assert opening is not None and opening.status in {"OPENED", "REFUND_DUE", "REFUNDED"}, \
            f"payment {claim.payment_id} claimed by {claim.opening_id} in state {opening and opening.status}"
        assert opening.payment_id == claim.payment_id or opening.tx_signature == claim.payment_id
    items_of = Counter(v.opening_id for v in vault)
    for opening in openings.values():
        expected = int(opening.cards_per_pack) if opening.status in {"OPENED", "REFUNDED"} and \
            opening.product == "pack" else 0
        assert items_of[opening.opening_id] == expected, \
            f"opening {opening.opening_id} ({opening.status}) has {items_of[opening.opening_id]} vault items"
    for pack in store.list_packs():
        if pack.supply_total is None:
            continue
        mine = [o for o in openings.values() if o.pack_id == pack.pack_id and o.limited_supply]
        reserved = sum(o.status == "QUOTED" for o in mine)
        sold = sum(o.status in {"OPENED", "REFUNDED"} for o in mine)
        assert (int(pack.supply_reserved), int(pack.supply_sold)) == (reserved, sold), \
            f"{pack.pack_id}: reserved/sold {pack.supply_reserved}/{pack.supply_sold}, openings say {reserved}/{sold}"
        assert int(pack.supply_available) + reserved + sold == int(pack.supply_total) and int(
            pack.supply_available) >= 0, f"{pack.pack_id}: oversold or units lost"
    wallets = {o.wallet for o in openings.values()}
    for wallet in wallets:
        quoted = sum(o.status == "QUOTED" and o.wallet == wallet and o.rail != "credits" for o in openings.values())
        assert store.open_quote_count(wallet) == quoted, f"{wallet}: quote counter disagrees"
        held = [v for v in vault if v.wallet == wallet and not v.revoked_at and not v.sold_at]
        assert store.vault_total(wallet)[0] == len(held), f"{wallet}: vault total disagrees"
        entries = store.all_entries(store.wallet_account(wallet))
        assert store.credit_balance(wallet) == sum(int(e.amount) for e in entries) >= 0
    postings = [store.get_posting(r.pk.removeprefix("POSTING#")) for r in rows if r.sk == "POSTING"]
    assert all(sum(int(e["amount"]) for e in p.entries) == 0 for p in postings), "an unbalanced posting"
    return {"openings": len(openings), "payments": len(claims), "vault_items": len(vault), "postings": len(postings)}
