"""A local Solana JSON-RPC endpoint over LiteSVM (a real Solana runtime, in process).

It answers what a wallet and the backend call, in a real node's JSON shapes: getLatestBlockhash,
requestAirdrop, sendTransaction, getBalance, getTransaction (encoding "json"), getSignatureStatuses,
getSignaturesForAddress, getHealth. Transactions are really signed and executed; pre/post balances are
snapshots taken around each one. Every landed transaction is immediately "finalized".
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import base58
from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

COMMITMENTS = {"confirmed", "finalized"}
TOKEN_PROGRAMS = {"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "TokenzQdBNbLqP5VEhdkAS6EPFLC1PazmkdxNaNssKrj"}
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


class LocalSolana:
    """LiteSVM plus the ledger history a JSON-RPC node keeps (transactions by signature and address)."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        self._lock = threading.Lock()
        self._transactions: dict[str, dict[str, Any]] = {}
        self._by_address: dict[str, list[str]] = {}
        self._faucet = Keypair()  # funds requestAirdrop with real, recorded transfers
        self.svm.set_account(self._faucet.pubkey(), Account(lamports=10**18, data=b"", owner=SYSTEM_PROGRAM,
                                                            executable=False, rent_epoch=0))

    # --- methods ------------------------------------------------------------------------------------

    def getHealth(self) -> str:
        return "ok"

    def getLatestBlockhash(self, config: dict | None = None) -> dict:
        with self._lock:
            slot = self.svm.get_clock().slot
            return self._context(slot, {"blockhash": str(self.svm.latest_blockhash()),
                                        "lastValidBlockHeight": slot + 150})

    def getBalance(self, address: str, config: dict | None = None) -> dict:
        with self._lock:
            return self._context(self.svm.get_clock().slot, self.svm.get_balance(_pubkey(address)) or 0)

    def requestAirdrop(self, address: str, lamports: int, config: dict | None = None) -> str:
        from solders.message import Message
        from solders.system_program import TransferParams, transfer
        from solders.transaction import Transaction

        with self._lock:
            instruction = transfer(TransferParams(from_pubkey=self._faucet.pubkey(), to_pubkey=_pubkey(address),
                                                  lamports=int(lamports)))
            transaction = Transaction([self._faucet], Message([instruction], self._faucet.pubkey()),
                                      self.svm.latest_blockhash())
            return self._execute(VersionedTransaction.from_bytes(bytes(transaction)), skip_preflight=False)

    def sendTransaction(self, encoded: str, config: dict | None = None) -> str:
        config = config or {}
        raw = base64.b64decode(encoded) if config.get("encoding", "base58") == "base64" else base58.b58decode(encoded)
        try:
            transaction = VersionedTransaction.from_bytes(raw)
        except ValueError as exc:
            raise RpcFailure(-32602, f"invalid transaction: {exc}") from exc
        with self._lock:
            return self._execute(transaction, skip_preflight=bool(config.get("skipPreflight")))

    def getTransaction(self, signature: str, config: dict | None = None) -> dict | None:
        config = config or {}
        _check_commitment(config)
        if config.get("encoding", "json") != "json":
            raise RpcFailure(-32602, "this local node answers getTransaction in the json encoding only")
        with self._lock:
            record = self._transactions.get(signature)
        if record is None:
            return None
        if record["version"] != "legacy" and config.get("maxSupportedTransactionVersion") is None:
            raise RpcFailure(-32015, "Transaction version (0) is not supported by the requesting client. Please "
                             "try the request again with the following configuration parameter: "
                             "\"maxSupportedTransactionVersion\": 0")
        result = {key: record[key] for key in ("slot", "blockTime", "meta", "transaction")}
        if record["version"] != "legacy":
            result["version"] = record["version"]
        return result

    def getSignatureStatuses(self, signatures: list[str], config: dict | None = None) -> dict:
        with self._lock:
            statuses = [None if (r := self._transactions.get(s)) is None else
                        {"slot": r["slot"], "confirmations": None, "err": r["meta"]["err"],
                         "status": {"Ok": None} if r["meta"]["err"] is None else {"Err": r["meta"]["err"]},
                         "confirmationStatus": "finalized"} for s in signatures]
            return self._context(self.svm.get_clock().slot, statuses)

    def getSignaturesForAddress(self, address: str, config: dict | None = None) -> list[dict]:
        config = config or {}
        _check_commitment(config)
        limit = min(int(config.get("limit", 1000)), 1000)
        with self._lock:
            signatures = list(reversed(self._by_address.get(address, [])))
            if config.get("before") in signatures:
                signatures = signatures[signatures.index(config["before"]) + 1:]
            records = [self._transactions[s] for s in signatures[:limit]]
        return [{"signature": r["signature"], "slot": r["slot"], "err": r["meta"]["err"], "memo": r["memo"],
                 "blockTime": r["blockTime"], "confirmationStatus": "finalized"} for r in records]

    # --- ledger -------------------------------------------------------------------------------------

    def _execute(self, transaction: VersionedTransaction, skip_preflight: bool) -> str:
        keys = list(transaction.message.account_keys)
        pre = [self.svm.get_balance(key) or 0 for key in keys]
        pre_tokens = self._token_balances(keys)
        clock = self.svm.get_clock()
        clock.unix_timestamp = int(time.time())
        self.svm.set_clock(clock)
        outcome = self.svm.send_transaction(transaction)
        failed = not hasattr(outcome, "signature")
        metadata = outcome.meta() if failed else outcome
        if failed and not skip_preflight:
            raise RpcFailure(-32002, f"Transaction simulation failed: {outcome.err()}")
        signature = str(transaction.signatures[0])
        slot = clock.slot
        self.svm.warp_to_slot(slot + 1)
        self.svm.expire_blockhash()
        post = [self.svm.get_balance(key) or 0 for key in keys]
        post_tokens = self._token_balances(keys)
        record = {
            "signature": signature,
            "slot": slot,
            "blockTime": clock.unix_timestamp,
            "version": "legacy" if _is_legacy(transaction) else 0,
            "memo": _memo(transaction),
            "meta": {
                "err": _error_json(outcome) if failed else None,
                "status": {"Err": _error_json(outcome)} if failed else {"Ok": None},
                "fee": metadata.fee(),
                "preBalances": pre,
                "postBalances": post,
                "innerInstructions": [],
                "logMessages": list(metadata.logs()),
                "preTokenBalances": pre_tokens,
                "postTokenBalances": post_tokens,
                "rewards": [],
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": metadata.compute_units_consumed(),
            },
            "transaction": transaction_json(transaction),
        }
        self._transactions[signature] = record
        for key in keys:
            self._by_address.setdefault(str(key), []).append(signature)
        return signature

    def _token_balances(self, keys: list[Pubkey]) -> list[dict]:
        """Token accounts among the keys, as a node reports them: index, mint, owner, program, amount."""
        balances = []
        for index, key in enumerate(keys):
            account = self.svm.get_account(key)
            if account is None or str(account.owner) not in TOKEN_PROGRAMS or len(account.data) < 165:
                continue
            data = bytes(account.data)
            mint = Pubkey.from_bytes(data[0:32])
            amount = int.from_bytes(data[64:72], "little")
            mint_account = self.svm.get_account(mint)
            decimals = bytes(mint_account.data)[44] if mint_account is not None else 0
            text = str(amount).rjust(decimals + 1, "0")
            ui = (text[:-decimals] + "." + text[-decimals:]).rstrip("0").rstrip(".") if decimals else text
            balances.append({"accountIndex": index, "mint": str(mint), "owner": str(Pubkey.from_bytes(data[32:64])),
                             "programId": str(account.owner),
                             "uiTokenAmount": {"amount": str(amount), "decimals": decimals,
                                               "uiAmount": float(ui), "uiAmountString": ui}})
        return balances

    def _context(self, slot: int, value: Any) -> dict:
        return {"context": {"apiVersion": "litesvm", "slot": slot}, "value": value}


def _pubkey(address: str) -> Pubkey:
    try:
        return Pubkey.from_string(address)
    except ValueError as exc:
        raise RpcFailure(-32602, f"Invalid param: {address!r} is not a public key") from exc


def _check_commitment(config: dict) -> None:
    commitment = config.get("commitment", "finalized")
    if commitment not in COMMITMENTS:
        raise RpcFailure(-32602, f"Method does not support commitment below `confirmed` ({commitment})")


def _is_legacy(transaction: VersionedTransaction) -> bool:
    return type(transaction.message).__name__ == "Message"


def _memo(transaction: VersionedTransaction) -> str | None:
    message = transaction.message
    keys = list(message.account_keys)
    memos = [bytes(ix.data).decode("utf-8", "replace") for ix in message.instructions
             if str(keys[ix.program_id_index]).startswith("Memo")]
    return "; ".join(f"[{len(m)}] {m}" for m in memos) or None


def _error_json(outcome: Any) -> Any:
    try:
        return json.loads(outcome.to_json()).get("err") or str(outcome.err())
    except (ValueError, AttributeError):
        return str(outcome.err())


def transaction_json(transaction: VersionedTransaction) -> dict:
    """A signed transaction in getTransaction's "json" encoding (what a node answers for encoding=json)."""
    message = transaction.message
    header = message.header
    body: dict[str, Any] = {
        "accountKeys": [str(key) for key in message.account_keys],
        "header": {"numRequiredSignatures": header.num_required_signatures,
                   "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                   "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [{"programIdIndex": ix.program_id_index, "accounts": list(ix.accounts),
                          "data": base58.b58encode(bytes(ix.data)).decode(), "stackHeight": None}
                         for ix in message.instructions],
    }
    if not _is_legacy(transaction):
        body["addressTableLookups"] = [
            {"accountKey": str(lookup.account_key), "writableIndexes": list(lookup.writable_indexes),
             "readonlyIndexes": list(lookup.readonly_indexes)} for lookup in message.address_table_lookups]
    return {"signatures": [str(s) for s in transaction.signatures], "message": body}


class LocalSolanaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, node: LocalSolana | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.node = node or LocalSolana()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LocalSolanaServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="local-solana").start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: LocalSolanaServer
    protocol_version = "HTTP/1.1"

    def do_OPTIONS(self) -> None:
        """CORS preflight: public RPC providers let browsers call them, so the local node does too."""
        self.send_response(204)
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-methods", "POST, OPTIONS")
        self.send_header("access-control-allow-headers", "content-type, solana-client")
        self.send_header("access-control-max-age", "600")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            request = json.loads(body)
        except ValueError:
            self._reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
            return
        method = getattr(self.server.node, str(request.get("method")), None)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        if method is None or str(request.get("method")).startswith("_"):
            reply["error"] = {"code": -32601, "message": "Method not found"}
        else:
            try:
                reply["result"] = method(*request.get("params", []))
            except RpcFailure as failure:
                reply["error"] = {"code": failure.code, "message": failure.message}
            except (TypeError, ValueError) as exc:
                reply["error"] = {"code": -32602, "message": f"Invalid params: {exc}"}
        self._reply(reply)

    def _reply(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("access-control-allow-origin", "*")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass

