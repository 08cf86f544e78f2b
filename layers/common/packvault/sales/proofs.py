"""Public proofs: any opening's fairness record, by id, without signing in, complete enough to check alone.

An opened pack's proof embeds the odds table it was drawn with. An opening that can no longer open (expired,
or a payment recorded for a refund) reveals its server seed, so anyone can check it against the commitment
made at quote time, and, when a payment is known, the draw it would have produced. A quote still open shows
its commitment only. The only personal data is the buyer's wallet, which is public on chain anyway.
"""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.catalog import item_definitions
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.fairness import records
from packvault.fairness.draw import OddsTable
from packvault.fairness.primitives import draw_client_seed, version_of
from packvault.fairness.quote_signing import signed_commitment
from packvault.sales.endings import would_have_drawn
from packvault.sales.openings import OPENING_ID, STATUS_NAMES

NEVER_OPENED = {"EXPIRED", "REFUND_DUE"}


def public_proof(opening_id: str) -> dict[str, Any]:
    if not OPENING_ID.match(opening_id):
        raise PackvaultError(ErrorCode.INVALID_OPENING_ID)
    opening = store.get_opening(opening_id)
    if opening is None or opening.product != "pack":
        raise PackvaultError(ErrorCode.OPENING_NOT_FOUND)
    table = store.odds_table(opening.pack_id, int(opening.odds_version))
    record: dict[str, Any] = {
        "opening_id": opening.opening_id, "pack_id": opening.pack_id, "wallet": opening.wallet,
        "status": STATUS_NAMES.get(opening.status, opening.status.lower()), "rail": opening.rail,
        "server_seed_hash": opening.server_seed_hash, "odds_version": int(opening.odds_version),
        "odds_hash": opening.odds_hash, "proof": None,  # null until opened, as the OpenAPI document says
    }
    if store.units_of(opening) > 1:  # a bundle's lead: where its other units are (FAIRNESS.md section 12)
        record["bundle"] = {"bundle_id": opening.opening_id, "quantity": store.units_of(opening),
                            "opening_ids": [opening.opening_id] + [u["opening_id"] for u in opening.bundle_units]}
    elif opening.bundle_id is not None:
        record["bundle"] = {"bundle_id": opening.bundle_id, "unit_index": int(opening.unit_index or 0)}
    if opening.endings:  # each time it ended without opening, as the public record holds it (FAIRNESS.md 13.11)
        record["endings"] = [{**ending, "inclusion": records.ending_inclusion(ending)} for ending in opening.endings]
    if opening.fairness:  # opened (and perhaps refunded since): the proof, with its odds table
        proof = dict(opening.fairness)
        if proof.get("scheme") == "seed-pair" and proof.get("server_seed") is None:
            revealed = store.revealed_pair(opening.wallet, int(proof["pair"]))
            proof["server_seed"] = revealed.server_seed if revealed is not None else None
        if int(proof.get("version") or 1) >= 2:  # where it sits in the public record, once its hour is sealed
            proof |= {"pack_id": opening.pack_id, "opened_at": opening.opened_at,
                      "inclusion": records.inclusion(opening)}
        if int(proof.get("version") or 1) >= 3:  # the signed commitment its quote showed (FAIRNESS.md 13.3)
            proof["commitment"] = _signed_commitment(opening)
        if proof.get("items_hash"):  # v2: the asset each item id stood for, and what was delivered
            proof["item_definitions"] = item_definitions.listed(opening.pack_id, proof["items_hash"])
            proof["delivered"] = [{key: item.get(key) for key in ("item_id", "name", "nft_id", "rarity", "fmv",
                                                                  "metadata")}
                                  | ({"image_url": item["image_url"]} if item.get("image_url") else {})
                                  for item in opening.items or []]
        return {**record, "proof": {**proof, "odds_table": table}}
    if opening.status in NEVER_OPENED:  # it can no longer open: nothing is left to protect by keeping it secret
        record["server_seed"] = opening.server_seed
        record["odds_table"] = table
        if version_of(opening) >= 3:
            record["commitment"] = _signed_commitment(opening)
        payment = opening.payment_id or opening.tx_signature
        seed = draw_client_seed(opening, payment, (opening.payment or {}).get("entropy"), None) if payment else None
        if seed and table is not None:  # the client seed the open path would have used (FAIRNESS.md 1.4, 13.2)
            record["would_have_drawn"] = would_have_drawn(opening, OddsTable.from_document(table), seed)

    return record


def _signed_commitment(opening: store.OpeningRecord) -> dict[str, Any] | None:
    """The commitment the buyer was shown, signed: a bundle unit's is its bundle's (the lead's quote named every
    unit). Signing is deterministic (Ed25519), so this is the signature the quote carried while the key is the same."""
    if opening.bundle_id is not None and opening.bundle_id != opening.opening_id:
        lead = store.get_opening(opening.bundle_id)
        return signed_commitment(lead) if lead is not None else None
    return signed_commitment(opening)
