"""Openings as the buyer sees them: status, quote, revealed items and, once opened, the fairness proof."""

from __future__ import annotations

import re
from typing import Any

from packvault import store
from packvault.chain.solana_pay import transfer_request_url
from packvault.core import money
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settlement import SOLANA
from packvault.fairness import records
from packvault.fairness.quote_signing import commitment, quote_hash, signed_commitment
from packvault.sales import products

OPENING_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATUS_NAMES = {"QUOTED": "quoted", "OPENED": "opened", "EXPIRED": "expired", "REFUND_DUE": "refund_due",
                "REFUNDED": "refunded"}


def get_own_opening(wallet: str, opening_id: str) -> dict[str, Any]:
    """One of the buyer's openings. Someone else's answers exactly like one that does not exist."""
    if not OPENING_ID.match(opening_id):
        raise PackvaultError(ErrorCode.INVALID_OPENING_ID)
    record = store.get_opening(opening_id)
    if record is None or record.wallet != wallet:
        raise PackvaultError(ErrorCode.OPENING_NOT_FOUND, f"No opening {opening_id} belongs to this wallet.")
    view = opening_view(record)
    if store.units_of(record) > 1 and record.status == "OPENED":  # a bundle's lead: every unit, in order
        found = store.get_openings([unit["opening_id"] for unit in record.bundle_units])
        units = [record] + [found[u["opening_id"]] for u in record.bundle_units if u["opening_id"] in found]
        view["bundle"] |= {"quantity": store.units_of(record), "openings": [
            {"opening_id": unit.opening_id, "unit_index": int(unit.unit_index or 0), "items": unit.items or [],
             "record_receipt": records.record_receipt(unit)} for unit in units]}
    if record.product == "pack" and (receipt := records.record_receipt(record)) is not None:
        view["record_receipt"] = receipt  # as the open answered it: a card or Open Payments buyer gets it here
    proof = view.get("fairness")
    if proof and proof.get("scheme") == "seed-pair" and proof.get("server_seed") is None:
        revealed = store.revealed_pair(wallet, int(proof["pair"]))  # published once the pair is rotated
        if revealed is not None:
            view["fairness"] = {**proof, "server_seed": revealed.server_seed}
    return view


def list_own_openings(wallet: str, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        page = store.wallet_openings(wallet, limit, cursor)
    except store.BadCursor:
        raise PackvaultError(ErrorCode.INVALID_CURSOR) from None
    return {"openings": [opening_view(row) for row in page.rows], "next_cursor": page.cursor}


def quote_view(record: store.OpeningRecord) -> dict[str, Any]:
    """The payment quote, rebuilt from the opening's own fields (the row stores no second copy of it)."""
    unit = money.currency(record.currency)
    amount = money.from_base_units(int(record.amount_base_units), unit.decimals)
    quote = {
        "opening_id": record.opening_id,
        "pack_id": record.pack_id,
        "status": STATUS_NAMES.get(record.status, record.status.lower()),
        "rail": record.rail,
        "currency": unit.symbol,
        "amount": amount,
        "amount_base_units": record.amount_base_units,
        "quote_expires_at": record.quote_expires_at,
        **(_solana_request(record, amount, unit.mint) if record.rail == SOLANA else dict(record.rail_refs or {})),
        "server_seed_hash": record.server_seed_hash,
        "client_seed": record.client_seed,
        "odds_version": int(record.odds_version),
        "odds_hash": record.odds_hash,
        **({"stock_committed": record.stock_committed, "items_hash": record.items_hash}
           if record.stock_committed is not None else {}),
        **({"quote_hash": quote_hash(commitment(record))} if record.stock_committed is not None else {}),
        "cards_per_pack": int(record.cards_per_pack),
        "created_at": record.created_at,
    }
    if record.product == "credits":
        quote |= {"product": "credits", "credits": int(record.credits), "bundle_id": record.pack_id}
    if int(record.quantity or 1) > 1:  # one payment for several packs: every unit's commitment
        quote |= {"quantity": int(record.quantity), "units": bundle_view(record)}
    quote |= products.view_fields(record, "quote")
    if unit.symbol == "SOL":
        quote["amount_sol"] = amount
    elif unit.mint is not None:
        quote["mint"] = unit.mint
    return quote


def bundle_view(record: store.OpeningRecord) -> list[dict[str, str]]:
    """A bundle's units, the lead first: each one's opening id and server seed hash (never the seed)."""
    return [{"opening_id": record.opening_id, "server_seed_hash": record.server_seed_hash}] + [
        {"opening_id": unit["opening_id"], "server_seed_hash": unit["server_seed_hash"]}
        for unit in record.bundle_units or []]


def signed_quote_view(record: store.OpeningRecord) -> dict[str, Any]:
    """The quote as the buyer receives it: for a v2 quote, with its commitment, hash and signature to keep."""
    quote = quote_view(record)
    if record.stock_committed is None:
        return quote
    return quote | signed_commitment(record)


def _solana_request(record: store.OpeningRecord, amount: str, mint: str | None) -> dict[str, str]:
    return {
        "receiver_wallet": record.receiver_wallet,
        "payer_wallet": record.payer_wallet or record.wallet,
        "reference": record.reference,
        "solana_pay_url": transfer_request_url(record.receiver_wallet, amount, record.reference, label="Packvault",
                                               message=_payment_message(record),
                                               memo=payment_memo(record), spl_token=mint),
    }


def payment_memo(record: store.OpeningRecord) -> str:
    """packvault:<opening_id>, and for a v2 quote :<quote_hash>: the commitment is then on chain, where nobody
    can rewrite it."""
    if record.stock_committed is None:
        return f"packvault:{record.opening_id}"
    return f"packvault:{record.opening_id}:{quote_hash(commitment(record))}"


def _payment_message(record: store.OpeningRecord) -> str:
    if record.product == "credits":
        return f"{record.pack_name} ({int(record.credits)} credits)"
    return f"{record.pack_name} ({int(record.cards_per_pack)} items)"


def opening_view(record: store.OpeningRecord) -> dict[str, Any]:
    """Never shows the server seed before the pack is opened: the commitment alone is public until then."""
    view: dict[str, Any] = {
        "opening_id": record.opening_id,
        "pack_id": record.pack_id,
        "status": STATUS_NAMES.get(record.status, record.status.lower()),
        "rail": record.rail,
        "quote": quote_view(record),
        "created_at": record.created_at,
        "opened_at": record.opened_at,
        "tx_signature": record.tx_signature,
        "items": record.items or [],
        "fairness": record.fairness if record.status == "OPENED" else None,
    }
    if record.payment is not None:
        view["payment"] = record.payment
    if record.bundle_id is not None or store.units_of(record) > 1:  # one of several packs bought together
        view["bundle"] = {"bundle_id": record.bundle_id or record.opening_id, "unit_index": int(record.unit_index or 0)}
    return view
