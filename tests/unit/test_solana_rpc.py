"""The RPC client's retry and failover rules, against scripted HTTP answers (responses library)."""

from __future__ import annotations

import pytest
import requests
import responses

from packvault.chain.rpc import RpcError, RpcUnavailable, SolanaRpc

A, B = "https://rpc-a.example", "https://rpc-b.example"


def ok(result):
    return {"jsonrpc": "2.0", "id": 1, "result": result}


@responses.activate
def test_429_and_5xx_are_retried_then_answered():
    responses.post(A, status=429, headers={"retry-after": "0"})
    responses.post(A, status=503)
    responses.post(A, json=ok({"slot": 1}))
    rpc = SolanaRpc([A], backoff_seconds=0)
    assert rpc.call("getTransaction", ["sig"]) == {"slot": 1}
    assert rpc.calls == 3


@responses.activate
def test_fails_over_to_the_next_url_after_its_attempts():
    responses.post(A, body=requests.ConnectTimeout("slow"))
    responses.post(B, json=ok(None))
    rpc = SolanaRpc([A, B], attempts_per_url=2, backoff_seconds=0)
    assert rpc.get_transaction("sig") is None
    assert [call.request.url.rstrip("/") for call in responses.calls] == [A, A, B]


@responses.activate
def test_every_url_failing_is_unavailable():
    responses.post(A, status=502)
    responses.post(B, status=500)
    with pytest.raises(RpcUnavailable, match="getTransaction failed on every RPC URL"):
        SolanaRpc([A, B], attempts_per_url=1).call("getTransaction", [])


@responses.activate
def test_json_rpc_errors_are_not_retried():
    responses.post(A, json={"jsonrpc": "2.0", "id": 1, "error": {"code": -32015, "message": "version"}})
    with pytest.raises(RpcError) as raised:
        SolanaRpc([A, B]).call("getTransaction", [])
    assert raised.value.code == -32015 and len(responses.calls) == 1


@responses.activate
def test_get_transaction_asks_for_json_commitment_and_versioned_transactions():
    responses.post(A, json=ok(None))
    SolanaRpc([A]).get_transaction("sig", "finalized", 0)
    import json

    sent = json.loads(responses.calls[0].request.body)
    assert sent["method"] == "getTransaction"
    assert sent["params"] == ["sig", {"encoding": "json", "commitment": "finalized",
                                      "maxSupportedTransactionVersion": 0}]
