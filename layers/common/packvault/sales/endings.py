"""Quotes that end without opening, on the public record (FAIRNESS.md 13.11): when a quote expires, or its payment is
recorded for a refund, its server seed is revealed and an ending document (why, when, and, when a payment is known,
what it would have drawn by the version 3 rule) is committed as a leaf of its hour, in the ending's own transaction.
An operator who aborts the quotes whose outcome it dislikes then does so on the record, where the pack statistics
count every ending. Registered with the store (store.on_ending) when the open path is imported."""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.fairness import records
from packvault.fairness.draw import DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.fairness.primitives import draw_client_seed, version_of

OUTCOMES = ("expired", "refund_due")


def would_have_drawn(opening: store.OpeningRecord, table: OddsTable, client_seed: str) -> dict[str, Any]:
    """Round 0 with the client seed it would have used and no finite stock (stock at the time is unknowable)."""
    inputs = DrawInputs(opening.server_seed, client_seed, opening.opening_id, 0)
    try:
        drawn = draw_opening(table, inputs, {})
    except NothingToDraw:
        return {"client_seed": client_seed, "round": 0, "stock": {}, "items": []}
    return {"client_seed": client_seed, "round": 0, "stock": {},
            "items": [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]}


def ending_record(opening: store.OpeningRecord, outcome: str, reason: str, payment: dict[str, Any] | None,
                  at: str) -> tuple[dict[str, Any], store.RecordLeafRecord] | None:
    """(The ending document, its leaf row) for a pack quote of fairness v2 or later; None otherwise (products that
    draw nothing, and v1 quotes, are not on the public record)."""
    if opening.product != "pack" or opening.stock_committed is None:
        return None
    seed = draw_client_seed(opening, payment["payment_id"], payment.get("entropy"), None) if payment else None
    document = {"type": records.ENDING_TYPE, "opening_id": opening.opening_id, "pack_id": opening.pack_id,
                "outcome": outcome, "reason": reason, "ended_at": at, "version": version_of(opening),
                "server_seed": opening.server_seed, "server_seed_hash": opening.server_seed_hash,
                "odds_version": int(opening.odds_version), "odds_hash": opening.odds_hash,
                "stock_committed": opening.stock_committed, "items_hash": opening.items_hash,
                "payment_id": payment["payment_id"] if payment else None, "would_have_drawn": None}
    if seed is not None:
        from packvault.sales.settle import odds_table  # cached per container

        document["would_have_drawn"] = would_have_drawn(opening, odds_table(opening.pack_id,
                                                                            int(opening.odds_version)), seed)
    if store.units_of(opening) > 1:  # a bundle's other units never existed as openings: their seeds, revealed too
        document["units"] = [{"opening_id": unit["opening_id"], "server_seed": unit["server_seed"],
                              "server_seed_hash": unit["server_seed_hash"]} for unit in opening.bundle_units]
    leaf = store.record_leaf_row(opening.opening_id, at, records.ending_leaf(document), opening.pack_id,
                                 ended=outcome)
    return document, leaf


store.on_ending(ending_record)
