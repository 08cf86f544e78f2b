"""Anchoring the public record on Solana (docs/FAIRNESS.md section 9): each sealed hour with openings gets a memo
transaction `packvault-record:<hour>:<root>` signed by the platform's anchor key, so that the hour's root is on
chain, where the operator cannot rewrite it. The sweep anchors what is sealed and not yet anchored; a transaction
that does not confirm within the run is sent again by the next one (two memos of one root are harmless).

The transaction is built here (legacy format: the anchor key pays and signs, one SPL Memo instruction with no
accounts) because the Lambda layer ships PyNaCl and base58, not a Solana SDK.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import base58

from packvault import store
from packvault.chain.rpc import RpcError, RpcUnavailable, SolanaRpc
from packvault.chain.transactions import memos
from packvault.core.log import logger

MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
CONFIRM_POLLS = 10
POLL_SECONDS = 0.3


def memo_text(period: str, root: str, chain_hash: str | None = None) -> str:
    """`packvault-record:<hour>:<root>`, and `:<chain hash>` for a chained seal (FAIRNESS.md 13.7): anchoring one
    chained hour anchors every hour before it."""
    return f"packvault-record:{period}:{root}" + (f":{chain_hash}" if chain_hash else "")


def memo_transaction(signing_key: Any, memo: str, blockhash: str) -> bytes:
    """A signed legacy transaction: [1 signature][header 1,0,1][2 keys: payer, memo program][blockhash]
    [1 instruction: program 1, no accounts, the memo's bytes]."""
    payer = bytes(signing_key.verify_key)
    data = memo.encode("utf-8")
    message = (bytes([1, 0, 1, 2]) + payer + base58.b58decode(MEMO_PROGRAM) + base58.b58decode(blockhash)
               + bytes([1, 1, 0]) + _compact_u16(len(data)) + data)
    return bytes([1]) + signing_key.sign(message).signature + message


def _compact_u16(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n == 0:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def anchor_due(rpc: SolanaRpc | None, signing_key: Any | None, limit: int = 24) -> int:
    """Anchor the recent sealed hours that have openings and no anchor yet; how many were anchored."""
    if rpc is None or signing_key is None:
        return 0
    anchored = 0
    for seal in store.unanchored_seals(limit):
        try:
            signature = _send_and_confirm(rpc, signing_key, memo_text(seal.sk, seal.root, seal.chain))
        except (RpcUnavailable, RpcError) as exc:
            logger.warning("anchoring the record failed; the next run tries again",
                           extra={"period": seal.sk, "error": str(exc)})
            break
        if signature is not None and store.set_anchor(seal.sk, signature):
            anchored += 1
    return anchored


def _send_and_confirm(rpc: SolanaRpc, signing_key: Any, memo: str) -> str | None:
    blockhash = rpc.call("getLatestBlockhash", [{"commitment": "confirmed"}])["value"]["blockhash"]
    transaction = memo_transaction(signing_key, memo, blockhash)
    signature = base58.b58encode(transaction[1:65]).decode()
    rpc.call("sendTransaction", [base64.b64encode(transaction).decode(), {"encoding": "base64"}])
    for _ in range(CONFIRM_POLLS):
        statuses = rpc.call("getSignatureStatuses", [[signature]])["value"]
        status = statuses[0] if statuses else None
        if status and status.get("err") is None and status.get("confirmationStatus") in {"confirmed", "finalized"}:
            return signature
        time.sleep(POLL_SECONDS)
    return None


def check_anchor(rpc: SolanaRpc, signature: str, period: str, root: str, chain_hash: str | None = None) -> list[str]:
    """The anchor transaction exists on chain and its memo names this hour's root (and chain hash). Empty when it
    holds."""
    result = rpc.get_transaction(signature)
    if result is None:
        return [f"the anchor transaction {signature} of {period} is not on chain"]
    if result.get("meta", {}).get("err") is not None:
        return [f"the anchor transaction {signature} of {period} failed"]
    if memo_text(period, root, chain_hash) not in memos(result):
        return [f"the anchor transaction {signature} does not carry {period}'s root {root}"]
    return []


def signing_key_from(text: str | None) -> Any | None:
    """The anchor key from base58 (a 64-byte Solana keypair, as `solana-keygen` writes, or a 32-byte seed)."""
    if not text:
        return None
    from nacl.signing import SigningKey

    raw = base58.b58decode(text.strip())
    if len(raw) not in {32, 64}:
        raise ValueError("the record anchor key must be a base58 32-byte seed or 64-byte keypair")
    return SigningKey(raw[:32])
