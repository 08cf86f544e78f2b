"""Payment verification: a pure function of a `getTransaction` result (encoding "json"). No I/O.

Amounts come from balance deltas, never from parsing instructions or logs, so transfers made by inner
instructions (smart wallets) count too. Account indexes run over message.accountKeys, then
meta.loadedAddresses.writable, then .readonly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packvault.core import money


@dataclass(frozen=True)
class PaymentTerms:
    recipient: str
    amount_base_units: int
    currency: str = "SOL"
    reference: str | None = None
    sender: str | None = None  # the buyer's wallet: must sign and be debited
    expires_at: int | None = None  # unix seconds: a payment landing later is late
    tolerance_base_units: int = 0
    mint: str | None = None  # SPL token payments: the mint; None for SOL
    token_program: str | None = None  # the token program the mint must belong to (SPL Token)
    memo: str | None = None  # the memo the quote asked for; its absence does not refuse the payment


@dataclass(frozen=True)
class Verdict:
    status: str  # valid | invalid | pending | late
    code: str | None = None
    message: str = ""
    received_base_units: int = 0
    payer: str | None = None
    fee_payer: str | None = None
    slot: int | None = None
    block_time: int | None = None
    memo_found: bool | None = None  # the transaction carries the terms' memo (None: the terms named none)

    @property
    def accepted(self) -> bool:
        return self.status == "valid"

    def to_json(self, terms: PaymentTerms) -> dict[str, Any]:
        decimals = money.currency(terms.currency).decimals
        return {"status": self.status, "code": self.code, "message": self.message,
                "expected": money.from_base_units(terms.amount_base_units, decimals),
                "received": money.from_base_units(self.received_base_units, decimals),
                "currency": terms.currency, "payer": self.payer, "fee_payer": self.fee_payer, "slot": self.slot,
                "block_time": self.block_time, **({"memo_found": self.memo_found} if self.memo_found is not None
                                                  else {})}


def account_keys(result: dict[str, Any]) -> list[str]:
    """Static keys, then the keys loaded from address lookup tables (writable, then read-only)."""
    static = result["transaction"]["message"]["accountKeys"]
    keys = [key if isinstance(key, str) else key["pubkey"] for key in static]
    loaded = (result.get("meta") or {}).get("loadedAddresses") or {}
    return keys + list(loaded.get("writable", [])) + list(loaded.get("readonly", []))


def signers(result: dict[str, Any]) -> list[str]:
    """The first header.numRequiredSignatures keys (encoding "json"), or the keys flagged signer ("jsonParsed")."""
    message = result["transaction"]["message"]
    if "header" not in message:
        return [key["pubkey"] for key in message["accountKeys"] if isinstance(key, dict) and key.get("signer")]
    return account_keys(result)[:message["header"]["numRequiredSignatures"]]


def balance_delta(result: dict[str, Any], account: str) -> int | None:
    """Lamports gained (positive) or lost (negative) by `account`, or None if it is not in the transaction."""
    keys = account_keys(result)
    if account not in keys:
        return None
    index = keys.index(account)
    meta = result["meta"]
    return int(meta["postBalances"][index]) - int(meta["preBalances"][index])


def token_delta(result: dict[str, Any], mint: str, owner: str, token_program: str | None = None) -> int | None:
    """Base units of `mint` gained (positive) or lost by the token accounts `owner` owns, from
    pre/postTokenBalances (a token account created in the transaction has no pre entry: it counts as 0).
    None when no such token account is in the transaction."""
    meta = result["meta"]

    def amounts(entries: list[dict[str, Any]]) -> dict[int, int]:
        return {e["accountIndex"]: int(e["uiTokenAmount"]["amount"]) for e in entries or []
                if e.get("mint") == mint and e.get("owner") == owner
                and (token_program is None or e.get("programId", token_program) == token_program)}

    before, after = amounts(meta.get("preTokenBalances")), amounts(meta.get("postTokenBalances"))
    if not before and not after:
        return None
    return sum(after.get(i, 0) - before.get(i, 0) for i in set(before) | set(after))


def credited_mints(result: dict[str, Any], owner: str) -> set[str]:
    meta = result["meta"]
    before = {(e["accountIndex"], e["mint"]): int(e["uiTokenAmount"]["amount"])
              for e in meta.get("preTokenBalances") or [] if e.get("owner") == owner}
    return {e["mint"] for e in meta.get("postTokenBalances") or [] if e.get("owner") == owner
            and int(e["uiTokenAmount"]["amount"]) > before.get((e["accountIndex"], e["mint"]), 0)}


def received(result: dict[str, Any], terms: PaymentTerms) -> int | None:
    if terms.mint is None:
        return balance_delta(result, terms.recipient)
    return token_delta(result, terms.mint, terms.recipient, terms.token_program)


def paid_by(result: dict[str, Any], terms: PaymentTerms, account: str) -> int:
    delta = balance_delta(result, account) if terms.mint is None else token_delta(
        result, terms.mint, account, terms.token_program)
    return -(delta or 0)


MEMO_PROGRAMS = {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvGY9KSEzGwCgRoWBb9GkdSWBdCxDchQ8"}


def memos(result: dict[str, Any]) -> list[str]:
    """The texts of the transaction's SPL Memo instructions (encoding "json": data is base58)."""
    import base58

    keys = account_keys(result)
    found = []
    for instruction in result["transaction"]["message"].get("instructions", []):
        index = instruction.get("programIdIndex")
        if index is not None and index < len(keys) and keys[index] in MEMO_PROGRAMS:
            try:
                found.append(base58.b58decode(instruction.get("data", "")).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
    return found


def verify_payment(result: dict[str, Any] | None, terms: PaymentTerms) -> Verdict:
    """Checks, in order: found, succeeded, paid the recipient enough, carries the reference, paid by the
    sender, in time."""
    if result is None:
        return Verdict("pending", "PAYMENT_PENDING", "The transaction is not visible at this commitment yet.")
    meta = result.get("meta")
    if meta is None:
        return Verdict("pending", "PAYMENT_PENDING", "The node has no status for this transaction yet.")
    context = {"slot": result.get("slot"), "block_time": result.get("blockTime"),
               "fee_payer": account_keys(result)[0],
               "memo_found": None if terms.memo is None else terms.memo in memos(result)}
    if meta.get("err") is not None:
        return Verdict("invalid", "PAYMENT_FAILED", f"The transaction failed on chain: {meta['err']}.", **context)
    for check in (_check_recipient, _check_reference, _check_sender):
        verdict = check(result, terms, context)
        if verdict is not None:
            return verdict
    amount = received(result, terms) or 0
    payer = terms.sender or _largest_debit(result)
    if terms.expires_at is not None and (result.get("blockTime") or 0) > terms.expires_at:
        return Verdict("late", "PAYMENT_AFTER_EXPIRY", "The payment landed after the quote expired.", amount,
                       payer, **context)
    return Verdict("valid", None, "Payment verified.", amount, payer, **context)


def _check_recipient(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    amount = received(result, terms)
    decimals = money.currency(terms.currency).decimals
    if amount is None or amount <= 0:
        if terms.mint is not None and credited_mints(result, terms.recipient) - {terms.mint}:
            return Verdict("invalid", "WRONG_MINT", f"The transaction pays {terms.recipient} in another token, "
                           f"not {terms.currency}.", **context)
        what = "nothing" if terms.mint is None else f"no {terms.currency}"
        return Verdict("invalid", "WRONG_RECIPIENT", f"The transaction pays {what} to {terms.recipient}.",
                       **context)
    if amount < terms.amount_base_units - terms.tolerance_base_units:
        expected = money.from_base_units(terms.amount_base_units, decimals)
        got = money.from_base_units(amount, decimals)
        return Verdict("invalid", "UNDERPAID", f"Amount mismatch: expected {expected} {terms.currency}, "
                       f"received {got} {terms.currency}.", amount, **context)
    return None


def _check_reference(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    if terms.reference is not None and terms.reference not in account_keys(result):
        return Verdict("invalid", "REFERENCE_MISSING", "The transaction does not carry this quote's reference, "
                       "so it does not pay this opening.", received(result, terms) or 0, **context)
    return None


def _check_sender(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    if terms.sender is None:
        return None
    amount = received(result, terms) or 0
    if terms.sender not in signers(result):
        return Verdict("invalid", "SENDER_NOT_SIGNER", "The buyer's wallet did not sign this transaction.",
                       amount, **context)
    if paid_by(result, terms, terms.sender) < terms.amount_base_units - terms.tolerance_base_units:
        return Verdict("invalid", "SENDER_NOT_DEBITED", "The buyer's wallet did not pay this amount.", amount,
                       **context)
    return None


def _largest_debit(result: dict[str, Any]) -> str | None:
    keys = account_keys(result)
    deltas = [(balance_delta(result, key) or 0, key) for key in keys]
    smallest = min(deltas, default=(0, None))
    return smallest[1] if smallest[0] < 0 else None
