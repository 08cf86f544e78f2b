"""Payment verification: a pure function of a `getTransaction` result (encoding "json"). No I/O.

Amounts come from balance deltas, never from parsing instructions or logs, so transfers made by inner
instructions (smart wallets) count too. Account indexes run over message.accountKeys, then
meta.loadedAddresses.writable, then .readonly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packvault import money


@dataclass(frozen=True)
class PaymentTerms:
    recipient: str
    amount_base_units: int
    currency: str = "SOL"
    reference: str | None = None
    sender: str | None = None  # the buyer's wallet: must sign and be debited
    expires_at: int | None = None  # unix seconds: a payment landing later is late
    tolerance_base_units: int = 0


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

    @property
    def accepted(self) -> bool:
        return self.status == "valid"

    def to_json(self, terms: PaymentTerms) -> dict[str, Any]:
        decimals = money.currency(terms.currency).decimals
        return {"status": self.status, "code": self.code, "message": self.message,
                "expected": money.from_base_units(terms.amount_base_units, decimals),
                "received": money.from_base_units(self.received_base_units, decimals),
                "currency": terms.currency, "payer": self.payer, "fee_payer": self.fee_payer, "slot": self.slot,
                "block_time": self.block_time}


def account_keys(result: dict[str, Any]) -> list[str]:
    """Static keys, then the keys loaded from address lookup tables (writable, then read-only)."""
    static = result["transaction"]["message"]["accountKeys"]
    keys = [key if isinstance(key, str) else key["pubkey"] for key in static]
    loaded = (result.get("meta") or {}).get("loadedAddresses") or {}
    return keys + list(loaded.get("writable", [])) + list(loaded.get("readonly", []))


def signers(result: dict[str, Any]) -> list[str]:
    message = result["transaction"]["message"]
    count = message["header"]["numRequiredSignatures"]
    return account_keys(result)[:count]


def balance_delta(result: dict[str, Any], account: str) -> int | None:
    """Lamports gained (positive) or lost (negative) by `account`, or None if it is not in the transaction."""
    keys = account_keys(result)
    if account not in keys:
        return None
    index = keys.index(account)
    meta = result["meta"]
    return int(meta["postBalances"][index]) - int(meta["preBalances"][index])


def verify_payment(result: dict[str, Any] | None, terms: PaymentTerms) -> Verdict:
    """Checks, in order: found, succeeded, paid the recipient enough, carries the reference, paid by the
    sender, in time."""
    if result is None:
        return Verdict("pending", "PAYMENT_PENDING", "The transaction is not visible at this commitment yet.")
    meta = result.get("meta")
    if meta is None:
        return Verdict("pending", "PAYMENT_PENDING", "The node has no status for this transaction yet.")
    context = {"slot": result.get("slot"), "block_time": result.get("blockTime"),
               "fee_payer": account_keys(result)[0]}
    if meta.get("err") is not None:
        return Verdict("invalid", "PAYMENT_FAILED", f"The transaction failed on chain: {meta['err']}.", **context)
    for check in (_check_recipient, _check_reference, _check_sender):
        verdict = check(result, terms, context)
        if verdict is not None:
            return verdict
    received = balance_delta(result, terms.recipient) or 0
    payer = terms.sender or _largest_debit(result)
    if terms.expires_at is not None and (result.get("blockTime") or 0) > terms.expires_at:
        return Verdict("late", "PAYMENT_AFTER_EXPIRY", "The payment landed after the quote expired.", received,
                       payer, **context)
    return Verdict("valid", None, "Payment verified.", received, payer, **context)


def _check_recipient(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    received = balance_delta(result, terms.recipient)
    decimals = money.currency(terms.currency).decimals
    if received is None or received <= 0:
        return Verdict("invalid", "WRONG_RECIPIENT", f"The transaction pays nothing to {terms.recipient}.",
                       **context)
    if received < terms.amount_base_units - terms.tolerance_base_units:
        expected = money.from_base_units(terms.amount_base_units, decimals)
        got = money.from_base_units(received, decimals)
        return Verdict("invalid", "UNDERPAID", f"Amount mismatch: expected {expected} {terms.currency}, "
                       f"received {got} {terms.currency}.", received, **context)
    return None


def _check_reference(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    if terms.reference is not None and terms.reference not in account_keys(result):
        return Verdict("invalid", "REFERENCE_MISSING", "The transaction does not carry this quote's reference, "
                       "so it does not pay this opening.", balance_delta(result, terms.recipient) or 0, **context)
    return None


def _check_sender(result: dict[str, Any], terms: PaymentTerms, context: dict[str, Any]) -> Verdict | None:
    if terms.sender is None:
        return None
    received = balance_delta(result, terms.recipient) or 0
    if terms.sender not in signers(result):
        return Verdict("invalid", "SENDER_NOT_SIGNER", "The buyer's wallet did not sign this transaction.",
                       received, **context)
    debit = -(balance_delta(result, terms.sender) or 0)
    if debit < terms.amount_base_units - terms.tolerance_base_units:
        return Verdict("invalid", "SENDER_NOT_DEBITED", "The buyer's wallet did not pay this amount.", received,
                       **context)
    return None


def _largest_debit(result: dict[str, Any]) -> str | None:
    keys = account_keys(result)
    deltas = [(balance_delta(result, key) or 0, key) for key in keys]
    smallest = min(deltas, default=(0, None))
    return smallest[1] if smallest[0] < 0 else None
