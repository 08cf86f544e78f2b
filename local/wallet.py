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

from packvault_tools.client import Keypair as PackvaultKeypair

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
MINT_SIZE = 82


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([bytes(owner), bytes(TOKEN_PROGRAM), bytes(mint)], ATA_PROGRAM)[0]


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    accounts = [AccountMeta(payer, True, True), AccountMeta(associated_token_address(owner, mint), False, True),
                AccountMeta(owner, False, False), AccountMeta(mint, False, False),
                AccountMeta(SYSTEM_PROGRAM, False, False), AccountMeta(TOKEN_PROGRAM, False, False)]
    return Instruction(ATA_PROGRAM, bytes([1]), accounts)


def transfer_checked(source: Pubkey, mint: Pubkey, destination: Pubkey, owner: Pubkey, amount: int,
                     decimals: int) -> Instruction:
    data = bytes([12]) + amount.to_bytes(8, "little") + bytes([decimals])
    return Instruction(TOKEN_PROGRAM, data, [AccountMeta(source, False, True), AccountMeta(mint, False, False),
                                             AccountMeta(destination, False, True), AccountMeta(owner, True, False)])


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

    def send(self, signers: list[Keypair], instructions: list[Instruction], skip_preflight: bool = False) -> str:
        from solders.hash import Hash

        blockhash = self.rpc("getLatestBlockhash", {"commitment": "confirmed"})["value"]["blockhash"]
        transaction = Transaction(signers, Message(instructions, signers[0].pubkey()), Hash.from_string(blockhash))
        encoded = base64.b64encode(bytes(transaction)).decode()
        return self.rpc("sendTransaction", encoded, {"encoding": "base64", "skipPreflight": skip_preflight})

    def create_mint(self, authority: Keypair, decimals: int) -> Pubkey:
        """A new SPL Token mint (createAccount + InitializeMint2), signed and sent like any client would."""
        from solders.system_program import CreateAccountParams, create_account

        mint = Keypair()
        rent = 1_461_600  # rent-exempt minimum for an 82-byte account
        init = Instruction(TOKEN_PROGRAM, bytes([20, decimals]) + bytes(authority.pubkey()) + bytes([0]),
                           [AccountMeta(mint.pubkey(), False, True)])
        self.send([authority, mint], [create_account(CreateAccountParams(
            from_pubkey=authority.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=MINT_SIZE,
            owner=TOKEN_PROGRAM)), init])
        return mint.pubkey()

    def mint_to(self, authority: Keypair, mint: Pubkey, owner: Pubkey, amount: int) -> Pubkey:
        """Tokens into `owner`'s associated token account (created if needed)."""
        account = associated_token_address(owner, mint)
        mint_to = Instruction(TOKEN_PROGRAM, bytes([7]) + amount.to_bytes(8, "little"),
                              [AccountMeta(mint, False, True), AccountMeta(account, False, True),
                               AccountMeta(authority.pubkey(), True, False)])
        self.send([authority], [create_ata_idempotent(authority.pubkey(), owner, mint), mint_to])
        return account

    def pay_token(self, payer: Keypair, recipient: str, mint: Pubkey, amount: int, decimals: int,
                  reference: str | None = None, memo: str | None = None, create_recipient_account: bool = False,
                  recipient_token_account: Pubkey | None = None) -> str:
        """A Solana Pay SPL transfer: transferChecked from the payer's associated account to the recipient's
        (optionally creating it in the same transaction), the reference riding on the transfer."""
        owner = Pubkey.from_string(recipient)
        destination = recipient_token_account or associated_token_address(owner, mint)
        transfer_ix = transfer_checked(associated_token_address(payer.pubkey(), mint), mint, destination,
                                       payer.pubkey(), amount, decimals)
        if reference is not None:
            transfer_ix = Instruction(transfer_ix.program_id, transfer_ix.data,
                                      [*transfer_ix.accounts, AccountMeta(Pubkey.from_string(reference), False, False)])
        instructions = [create_ata_idempotent(payer.pubkey(), owner, mint)] if create_recipient_account else []
        instructions.append(transfer_ix)
        if memo is not None:
            instructions.append(Instruction(MEMO_PROGRAM, memo.encode(), []))
        return self.send([payer], instructions)

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
