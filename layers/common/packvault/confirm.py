"""Confirm payment: verify the Solana transaction, then open the pack exactly once.

Idempotent by construction: an opened opening answers with its stored receipt whatever is sent again; the
signature is claimed by a conditional put inside the one transaction that opens the pack, so it can pay for
one opening only; vault item ids derive from the opening, so a replayed transaction creates nothing new.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from packvault import money, store
from packvault.draw import DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.errors import ErrorCode, PackvaultError
from packvault.keys import is_signature
from packvault.log import logger
from packvault.openings import OPENING_ID, opening_view
from packvault.settings import Settings
from packvault.solana import PaymentTerms, Verdict, verify_payment
from packvault.solana_rpc import UNSUPPORTED_VERSION, RpcError, RpcUnavailable, SolanaRpc
from packvault.times import parse_iso

CHAINS = {"sol": "solana", "solana": "solana"}
MAX_ROUNDS = 5
RETRY_AFTER_SECONDS = 5
_VAULT_NAMESPACE = uuid.UUID("6f1c6a52-3a8e-4d55-9d0e-8f0b7c1e2a11")
_ODDS_TABLES: dict[tuple[str, int], OddsTable] = {}


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
    if opening.status in {"REFUND_DUE", "REFUNDED"}:
        raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, "This quote expired; its payment is recorded "
                             "for a refund.", refund_status=opening.status.lower())
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
    payment = {**verdict.to_json(terms), "tx_signature": signature}
    if opening.status == "EXPIRED":
        if (opened := settle_expired_payment(settings, opening, signature, verdict, payment)) is not None:
            return Outcome(200, opened)
        raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, refund_status="refund_due", **_amounts(verdict, terms))
    if verdict.status == "late":
        store.mark_refund_due(opening, signature, payment, "paid after the quote expired")
        raise PackvaultError(ErrorCode.PAYMENT_AFTER_EXPIRY, refund_status="refund_due", **_amounts(verdict, terms))
    return Outcome(200, open_with_payment(opening, signature, client_seed, payment))


def settle_expired_payment(settings: Settings, opening: store.OpeningRecord, signature: str, verdict: Verdict,
                           payment: dict) -> dict | None:
    """A payment found for an EXPIRED opening: made in time and the policy honours it -> re-reserve and open
    (the receipt); otherwise REFUND_DUE (None). Never dropped."""
    if verdict.status == "valid" and settings.honour_late_payments and store.re_reserve(opening):
        return open_with_payment(opening, signature, None, payment)
    reason = ("paid after the quote expired" if verdict.status == "late"
              else "no supply left when the payment was found")
    store.mark_refund_due(opening, signature, payment, reason)
    return None


def payment_terms(settings: Settings, opening: store.OpeningRecord) -> PaymentTerms:
    unit = money.currency(opening.currency)
    return PaymentTerms(
        mint=unit.mint, token_program=unit.token_program,
        recipient=opening.receiver_wallet, amount_base_units=int(opening.amount_base_units),
        currency=opening.currency, reference=opening.reference, sender=opening.wallet,
        expires_at=int(parse_iso(opening.quote_expires_at).timestamp()),
        tolerance_base_units=settings.payment_tolerance_lamports if not unit.is_token else 0,
    )


def receipt(opening: store.OpeningRecord) -> dict[str, Any]:
    view = opening_view(opening)
    return {key: view[key] for key in ("opening_id", "pack_id", "status", "tx_signature", "opened_at", "items",
                                       "fairness")} | {"payment": opening.payment}


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
        raise PackvaultError(ErrorCode.OPENING_NOT_FOUND, f"No opening {opening_id} belongs to this wallet.")
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
                   opening.wallet, opening.wallet)


def _amounts(verdict: Verdict, terms: PaymentTerms) -> dict[str, str]:
    decimals = money.currency(terms.currency).decimals
    return {"expected": money.from_base_units(terms.amount_base_units, decimals),
            "received": money.from_base_units(verdict.received_base_units, decimals), "currency": terms.currency}


def open_with_payment(opening: store.OpeningRecord, signature: str, client_seed: str | None,
                      payment: dict) -> dict[str, Any]:
    """Draw and open a QUOTED opening paid by `signature` (also used by the expiry sweep)."""
    seed = opening.client_seed or client_seed or signature
    table = _odds_table(opening.pack_id, int(opening.odds_version))
    for round_number in range(MAX_ROUNDS):
        items = {row.item_id: row for row in store.pack_items(opening.pack_id, consistent=True)}
        stock = {item_id: int(row.stock_available) for item_id, row in items.items()
                 if row.stock_available is not None}
        try:
            drawn = draw_opening(table, DrawInputs(opening.server_seed, seed, opening.opening_id, round_number), stock)
        except NothingToDraw:
            return _refund_due(opening, signature, payment)
        changes, vault_items, taken, fmv_micros = _opening_changes(opening, signature, seed, round_number, stock,
                                                                   drawn, items, payment)
        try:
            store.open_opening(opening, changes, vault_items, taken, fmv_micros,
                               _request_token(opening.opening_id, signature, round_number))
            for name, value in changes.items():  # the receipt is what was just written; no re-read
                setattr(opening, name, value)
            return receipt(opening)
        except store.OpenFailed:
            current = store.get_opening(opening.opening_id)
            if current is not None and current.status == "OPENED":
                return receipt(current)  # a concurrent confirm opened it: same items for everyone
            claim = store.get_payment_claim(signature)
            if claim is not None and claim.opening_id != opening.opening_id:
                raise PackvaultError(ErrorCode.SIGNATURE_ALREADY_USED) from None
            if current is None or current.status != "QUOTED":
                raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE) from None
            time.sleep(random.uniform(0, 0.02 * 2**round_number))
            # Stock moved under us (another opening took the last unit): redraw with the next round.
    raise PackvaultError(ErrorCode.BUSY_RETRY)


def _opening_changes(opening: store.OpeningRecord, signature: str, seed: str, round_number: int,
                     stock: dict[str, int], drawn: list, items: dict[str, store.PackItemRecord],
                     payment: dict) -> tuple[dict[str, Any], list[store.VaultItemRecord], dict[str, int], int]:
    opened_at = store.utc_now_iso()
    vault_items, taken, fmv_micros = [], {}, 0
    revealed = []
    for index, draw in enumerate(drawn):
        row = items[draw.item_id]
        vault_item_id = str(uuid.uuid5(_VAULT_NAMESPACE, f"{opening.opening_id}/{index}"))
        vault_items.append(store.new_vault_item(opening.wallet, opening, vault_item_id, row, opened_at))
        if draw.item_id in stock:
            taken[draw.item_id] = taken.get(draw.item_id, 0) + 1
        fmv_micros += money.to_base_units(row.fmv, money.FMV_DECIMALS)
        revealed.append({"vault_item_id": vault_item_id, "item_id": row.item_id, "nft_id": row.nft_id,
                         "name": row.name, "rarity": row.rarity, "tier_id": row.tier_id, "fmv": row.fmv,
                         "metadata": row.metadata})
    fairness = {"opening_id": opening.opening_id, "server_seed": opening.server_seed,
                "server_seed_hash": opening.server_seed_hash, "client_seed": seed, "round": round_number,
                "stock": stock, "odds_version": int(opening.odds_version), "odds_hash": opening.odds_hash,
                "items": [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]}
    changes = {"status": "OPENED", "opened_at": opened_at, "updated_at": opened_at, "tx_signature": signature,
               "payment": payment, "items": revealed, "fairness": fairness, "client_seed": seed}
    return changes, vault_items, taken, fmv_micros


def _refund_due(opening: store.OpeningRecord, signature: str, payment: dict) -> dict[str, Any]:
    if store.mark_refund_due(opening, signature, payment, "nothing left to draw"):
        raise PackvaultError(ErrorCode.PACK_EXHAUSTED)
    current = store.get_opening(opening.opening_id)
    if current is not None and current.status == "OPENED":
        return receipt(current)
    raise PackvaultError(ErrorCode.OPENING_NOT_CONFIRMABLE)


def _odds_table(pack_id: str, version: int) -> OddsTable:
    """Odds versions are immutable, so a container reads each one once."""
    key = (pack_id, version)
    if key not in _ODDS_TABLES:
        document = store.odds_table(pack_id, version)
        if document is None:
            raise PackvaultError(ErrorCode.ODDS_VERSION_NOT_FOUND)
        _ODDS_TABLES[key] = OddsTable.from_document(document)
    return _ODDS_TABLES[key]


def _request_token(opening_id: str, signature: str, round_number: int) -> str:
    return hashlib.sha256(f"open|{opening_id}|{signature}|{round_number}".encode()).hexdigest()[:36]
