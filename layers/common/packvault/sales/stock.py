"""The stock an opening draws with and its part of the pack's stock chain (FAIRNESS.md 5 and 13.10): the draw's
stock is derived from the chain's head (never from an item row alone), a drawn unit the head does not have is an
abandoned round on the record, and the open transaction appends the opening's link (or checks the head it drew at
is still the head), so anyone can recount every opening's stock from the public chain."""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.fairness import stock_chain


def stock_state(pack_id: str, items: dict[str, store.PackItemRecord],
                head: store.StockHeadRecord | None = None) -> dict[str, Any] | None:
    """The chain state an opening of the pack draws at: its head (`head`, when just read by moved_head). None when no
    item is finite (nothing is counted). A pack loaded before v3 has no head yet: its count starts from the item rows,
    at its last link (`counted` False), and its first opening writes the head."""
    finite = [item_id for item_id, row in items.items() if row.stock_total is not None]
    if not finite:
        return None
    head = head or store.stock_head(pack_id)
    if head is not None:
        return head.as_state() | {"counted": True}
    rows, pack = store.pack_items_by_id(pack_id, finite), store.get_pack(pack_id)
    counts = {item_id: (int(row.stock_total), int(row.stock_available or 0)) for item_id, row in rows.items()
              if row.stock_total is not None}
    supply = int(pack.supply_total) if pack and pack.supply_total is not None else None
    return stock_chain.uncounted_state(pack.stock_chain_seq if pack else None, pack.stock_chain_head if pack else None,
                                       supply, counts) | {"counted": False}


def committed_stock(opening: store.OpeningRecord, state: dict[str, Any] | None,
                    short_left: dict[str, int] | None = None) -> dict[str, int]:
    """The stock this opening draws with at `state` (stock_chain.derived_stock): what its quote committed to, less
    the units drawn since, so an operator's later change to a total does not move its odds."""
    return stock_chain.derived_stock(state, opening.stock_committed, short_left) if state else {}


def short_of(opening: store.OpeningRecord, state: dict[str, Any] | None,
             taken: dict[str, int]) -> dict[str, dict[str, int]]:
    """The drawn finite items the chain state does not have the units of (a round's draw counted more than is left:
    its quote committed to more than a later cut left), with the evidence a redraw is published with. Empty when
    every unit is there."""
    short = {}
    for item_id, needed in taken.items():
        available = int((state or {}).get("left", {}).get(item_id, 0))
        if available < needed:
            short[item_id] = {"needed": needed, "available": available,
                              "total": int((state or {}).get("stock_totals", {}).get(item_id, 0)),
                              "committed": int((opening.stock_committed or {}).get(item_id, -1))}
    return short


def stock_link(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a proof names: the chain link whose state its draw used."""
    return {"seq": int(state["seq"]), "hash": state["hash"]} if state else None


def stock_move(state: dict[str, Any] | None, pack_id: str, opening_id: str, taken: dict[str, int],
               at: str) -> store.StockMove | None:
    """The opening's part of the chain: its link, conditioned on the head it drew at, when it took finite units.
    One that took none writes nothing there (openings that take nothing never wait for one another); the state it
    names must be the last link written a few seconds before it opened (stock_chain.proof_problems)."""
    if state is None or not taken:
        return None
    link = stock_chain.opening_link(state, pack_id, opening_id, taken, at)
    return store.StockMove(int(state["seq"]) if state.get("counted") else None, link)


def moved_head(pack_id: str, state: dict[str, Any] | None) -> store.StockHeadRecord | None:
    """The pack's stock chain head if it has a link after `state` now (another opening took units first: why an open
    transaction that appended a link failed, most often, under a drop's load), else None. The caller draws again at
    it without reading it twice."""
    if state is None:
        return None
    head = store.stock_head(pack_id)
    return head if head is not None and int(head.seq) != int(state["seq"]) else None
