"""Confirm a Solana payment: verify the transaction, then open the pack exactly once (packvault.settle).

Idempotent by construction: an opened opening answers with its stored receipt whatever is sent again; the
signature is claimed by a conditional put inside the one transaction that opens the pack, so it can pay for
one opening only; vault item ids derive from the opening, so a replayed transaction creates nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packvault import store
from packvault.chain.rpc import UNSUPPORTED_VERSION, RpcError, RpcUnavailable, SolanaRpc
from packvault.chain.transactions import PaymentTerms, Verdict, verify_payment
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.keys import is_signature
from packvault.core.log import logger
from packvault.core.settings import Settings
from packvault.core.settlement import SOLANA, Settlement
from packvault.core.times import parse_iso
from packvault.sales.openings import OPENING_ID, payment_memo
from packvault.sales.settle import open_paid, receipt, settle_expired

CHAINS = {"sol": "solana", "solana": "solana"}
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def confirm_payment(settings: Settings, rpc: SolanaRpc | None, wallet: str, opening_id: str,
                    body: dict[str, Any]) -> Outcome:
    signature, client_seed = _read_body(body)
    opening = _own_opening(wallet, opening_id)
    if opening.status == "OPENED":
        return Outcome(200, receipt(opening))
    if opening.status in {"REFUND_DUE", "REFUNDED"}:  # say why, as recorded: not "expired" when it had not
        reason = (opening.payment or {}).get("refund_reason") or "unknown"
        if reason == "paid after the quote expired":
            raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, "This quote expired; its payment is recorded "
                                 "for a refund.", refund_status=opening.status.lower(), reason=reason)
        raise PackvaultError(ErrorCode.PAYMENT_REFUND_DUE, f"This payment could not open the pack ({reason}); it is "
                             "recorded for a refund.", refund_status=opening.status.lower(), reason=reason)
    if opening.rail != SOLANA:
        raise PackvaultError(ErrorCode.WRONG_RAIL, f"This opening is paid through {opening.rail}, not Solana.",
                             rail=opening.rail)
    if opening.status not in {"QUOTED", "EXPIRED"}:
        raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE, f"This opening is {opening.status.lower()}.",
                             status=opening.status.lower())
    verdict = _bypass_verdict(opening) if settings.dev_payment_bypass else _verify(settings, rpc, opening, signature)
    if verdict.status == "pending":
        return Outcome(202, {"status": "pending", "code": "PAYMENT_PENDING", "message": verdict.message,
                             "retry_after_seconds": RETRY_AFTER_SECONDS},
                       {"Retry-After": str(RETRY_AFTER_SECONDS)})
    terms = payment_terms(settings, opening)
    if verdict.status == "invalid":
        raise PackvaultError(ErrorCode(verdict.code), verdict.message, **_amounts(verdict, terms))
    settlement = solana_settlement(signature, verdict, terms)
    if opening.status == "EXPIRED":
        if (opened := settle_expired(opening, settlement, verdict.status == "valid",
                                     settings.honour_late_payments)) is not None:
            return Outcome(200, opened)
        raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, refund_status="refund_due", **_amounts(verdict, terms))
    if verdict.status == "late":
        store.mark_refund_due(opening, settlement, "paid after the quote expired")
        raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, refund_status="refund_due", **_amounts(verdict, terms))
    return Outcome(200, open_paid(opening, settlement, client_seed))


def solana_settlement(signature: str, verdict: Verdict, terms: PaymentTerms, **found: str) -> Settlement:
    """What the verifier proved, as the open path takes it."""
    return Settlement(SOLANA, signature, {**verdict.to_json(terms), "tx_signature": signature, "entropy": signature,
                                          **found})


def payer_of(opening: store.OpeningRecord) -> str:
    """The wallet a Solana payment for the opening must come from: the account's own address, or the linked wallet
    the quote named (accounts created by a passkey or an email)."""
    return opening.payer_wallet or opening.wallet


def payment_terms(settings: Settings, opening: store.OpeningRecord) -> PaymentTerms:
    unit = money.currency(opening.currency)
    return PaymentTerms(
        mint=unit.mint, token_program=unit.token_program,
        recipient=opening.receiver_wallet, amount_base_units=int(opening.amount_base_units),
        currency=opening.currency, reference=opening.reference, sender=payer_of(opening),
        expires_at=int(parse_iso(opening.quote_expires_at).timestamp()),
        tolerance_base_units=settings.payment_tolerance_lamports if not unit.is_token else 0,
        memo=payment_memo(opening),
    )


def _read_body(body: dict[str, Any]) -> tuple[str, str | None]:
    chain = body.get("chain", "solana")
    if not isinstance(chain, str) or chain.strip().lower() not in CHAINS:
        raise PackvaultError(ErrorCode.INVALID_CHAIN, f"chain {chain!r} is not accepted; use one of: sol, SOL, "
                             "solana, SOLANA.")
    signature = body.get("tx_signature", body.get("tx_hash"))
    if not isinstance(signature, str) or not is_signature(signature.strip()):
        raise PackvaultError(ErrorCode.INVALID_TX_SIGNATURE)
    client_seed = body.get("client_seed")
    if client_seed is not None and not (isinstance(client_seed, str) and 0 < len(client_seed) <= 128
                                        and client_seed.isprintable()):
        raise PackvaultError(ErrorCode.INVALID_CLIENT_SEED)
    return signature.strip(), client_seed


def _own_opening(wallet: str, opening_id: str) -> store.OpeningRecord:
    if not OPENING_ID.match(opening_id):
        raise PackvaultError(ErrorCode.INVALID_OPENING_ID)
    opening = store.get_opening(opening_id)
    if opening is None or opening.wallet != wallet:
        raise PackvaultError(ErrorCode.OPENING_NOT_FOUND, f"No opening {opening_id} belongs to this account.")
    return opening


def _verify(settings: Settings, rpc: SolanaRpc | None, opening: store.OpeningRecord, signature: str) -> Verdict:
    if rpc is None:
        raise PackvaultError(ErrorCode.RPC_UNAVAILABLE, "No Solana RPC URL is configured.")
    try:
        result = rpc.get_transaction(signature, settings.solana_commitment, settings.solana_max_transaction_version)
    except RpcUnavailable as exc:
        logger.warning("solana rpc unavailable", extra={"error": str(exc)})
        raise PackvaultError(ErrorCode.RPC_UNAVAILABLE) from None
    except RpcError as exc:
        if exc.code == UNSUPPORTED_VERSION:
            raise PackvaultError(ErrorCode.UNSUPPORTED_TRANSACTION_VERSION) from None
        logger.warning("solana rpc error", extra={"error": str(exc)})
        raise PackvaultError(ErrorCode.RPC_UNAVAILABLE) from None
    return verify_payment(result, payment_terms(settings, opening))


def _bypass_verdict(opening: store.OpeningRecord) -> Verdict:
    logger.warning("DEV payment bypass: opening without verifying the payment",
                   extra={"opening_id": opening.opening_id, "stage": "dev"})
    return Verdict("valid", None, "DEV bypass: payment not verified.", int(opening.amount_base_units),
                   payer_of(opening), payer_of(opening))


def _amounts(verdict: Verdict, terms: PaymentTerms) -> dict[str, str]:
    decimals = money.currency(terms.currency).decimals
    return {"expected": money.from_base_units(terms.amount_base_units, decimals),
            "received": money.from_base_units(verdict.received_base_units, decimals), "currency": terms.currency}
