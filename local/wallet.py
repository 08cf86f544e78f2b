"""A buyer's wallet for local use: builds, signs and sends a Solana Pay transfer through JSON-RPC, as a
wallet app would (transfer + the quote's reference as a read-only key + a memo)."""

from __future__ import annotations

import base64
from typing import Any

import requests
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from packvault.client import Keypair as PackvaultKeypair

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def solders_keypair(keypair: PackvaultKeypair) -> Keypair:
    return Keypair.from_seed(bytes(keypair.signing_key))


class RpcWallet:
    def __init__(self, rpc_url: str) -> None:
        self.rpc_url = rpc_url
        self.session = requests.Session()

    def rpc(self, method: str, *params: Any) -> Any:
        body = self.session.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                     "params": list(params)}, timeout=15).json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def airdrop(self, address: str, lamports: int) -> str:
        return self.rpc("requestAirdrop", address, lamports)

    def balance(self, address: str) -> int:
        return self.rpc("getBalance", address, {"commitment": "confirmed"})["value"]

    def pay(self, payer: Keypair, recipient: str, lamports: int, reference: str | None = None,
            memo: str | None = None, fee_payer: Keypair | None = None, skip_preflight: bool = False) -> str:
        """Sign and send a transfer; returns the transaction signature."""
        instruction = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.from_string(recipient),
                                              lamports=lamports))
        if reference is not None:  # Solana Pay: the reference rides on the transfer as a read-only key
            accounts = [*instruction.accounts, AccountMeta(Pubkey.from_string(reference), False, False)]
            instruction = Instruction(instruction.program_id, instruction.data, accounts)
        instructions = [instruction]
        if memo is not None:
            instructions.append(Instruction(MEMO_PROGRAM, memo.encode(), []))
        paying_fees = fee_payer or payer
        signers = [paying_fees] if fee_payer is None else [fee_payer, payer]
        blockhash = self.rpc("getLatestBlockhash", {"commitment": "confirmed"})["value"]["blockhash"]
        from solders.hash import Hash

        transaction = Transaction(signers, Message(instructions, paying_fees.pubkey()), Hash.from_string(blockhash))
        encoded = base64.b64encode(bytes(transaction)).decode()
        return self.rpc("sendTransaction", encoded, {"encoding": "base64", "skipPreflight": skip_preflight})
