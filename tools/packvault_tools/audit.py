"""The invariant audit: reads every row of the table and checks what must always hold. Used by the fault and
load runs, and by operators (`packvault audit`; it scans the whole table, so run it off-peak)."""

from __future__ import annotations

from collections import Counter

from packvault import store


def audit() -> dict[str, int]:
    """Reads every row and checks the invariants; returns the counts it checked. Raises AssertionError naming
    what is wrong: a payment claimed by nothing opened, owed or ordered, an opening with items twice or missing,
    supply counters that disagree with the openings, a stock chain that is broken or counts other units than the
    openings took (or item rows that do not mirror it), vault totals, quote counters, an unbalanced ledger, or an
    entitlement holding without its payment, with a negative count or one its consumptions do not explain."""
    rows = list(store.Row.scan())
    openings = {o.opening_id: o for o in (store.get_opening(r.pk.removeprefix("OPENING#")) for r in rows
                                          if r.sk == "OPENING")}
    claims = [store.get_payment_claim(*r.pk.split("#", 2)[1:]) for r in rows if r.sk == "PAYMENT"]
    vault = [store.VaultItemRecord.get(r.pk, r.sk) for r in rows if r.sk.startswith("VAULT#")]
    for claim in claims:
        if claim.opening_id.startswith(ORDER_CLAIM):  # a game-credit order paid first (seed 001), not an opening
            _audit_order_claim(claim)
            continue
        opening = openings.get(claim.opening_id)
        assert opening is not None and opening.status in {"OPENED", "REFUND_DUE", "REFUNDED"}, \
            f"payment {claim.payment_id} claimed by {claim.opening_id} in state {opening and opening.status}"
        assert opening.payment_id == claim.payment_id or opening.tx_signature == claim.payment_id
    items_of = Counter(v.opening_id for v in vault)
    for opening in openings.values():
        expected = int(opening.cards_per_pack) if opening.status in {"OPENED", "REFUNDED"} and \
            opening.product == "pack" else 0
        assert items_of[opening.opening_id] == expected, \
            f"opening {opening.opening_id} ({opening.status}) has {items_of[opening.opening_id]} vault items"
    for pack in store.list_packs():
        _audit_stock(pack, openings, vault)
        if pack.supply_total is None:
            continue
        _audit_supply(pack, [o for o in openings.values() if o.pack_id == pack.pack_id and o.limited_supply])
    wallets = {o.wallet for o in openings.values()}
    for wallet in wallets:
        quoted = sum(store.units_of(o) for o in openings.values()
                     if o.status == "QUOTED" and o.wallet == wallet and o.rail != "credits")
        assert store.open_quote_count(wallet) == quoted, f"{wallet}: quote counter disagrees"
        held = [v for v in vault if v.wallet == wallet and not v.revoked_at and not v.sold_at]
        assert store.vault_total(wallet)[0] == len(held), f"{wallet}: vault total disagrees"
        entries = store.all_entries(store.wallet_account(wallet))
        assert store.credit_balance(wallet) == sum(int(e.amount) for e in entries) >= 0
    postings = [store.get_posting(r.pk.removeprefix("POSTING#")) for r in rows if r.sk == "POSTING"]
    assert all(sum(int(e["amount"]) for e in p.entries) == 0 for p in postings), "an unbalanced posting"
    holdings = [store.get_holding(r.pk.removeprefix("HOLDING#")) for r in rows if r.sk == "HOLDING"]
    consumptions = [store.ConsumptionRecord.get(r.pk, r.sk) for r in rows if r.sk == "CONSUMPTION"]
    _audit_holdings(holdings, consumptions, openings)
    return {"openings": len(openings), "payments": len(claims), "vault_items": len(vault), "postings": len(postings),
            "holdings": len(holdings)}


def _audit_holdings(holdings: list[store.HoldingRecord], consumptions: list[store.ConsumptionRecord],
                    openings: dict[str, store.OpeningRecord]) -> None:
    """Entitlements: every holding has its paid opening (same id: never two for one payment), 0 <= units_remaining
    = locked_credits_remaining (seed 004's v1 invariant), and the units it lacks are exactly its consumptions not
    restored."""
    taken = Counter()
    for row in consumptions:
        if row.restored_at is None:
            taken[row.holding_id] += int(row.units)
    for holding in holdings:
        opening = openings.get(holding.holding_id)
        assert opening is not None and opening.product == "entitlement" and opening.status in {
            "OPENED", "REFUNDED"}, f"holding {holding.holding_id} has no paid opening"
        assert opening.payment_id == holding.payment_id, f"holding {holding.holding_id}: another payment"
        remaining = int(holding.units_remaining)
        assert 0 <= remaining == int(holding.locked_credits_remaining), f"holding {holding.holding_id}: units"
        assert int(holding.units_included) - remaining == taken[holding.holding_id], \
            f"holding {holding.holding_id}: {int(holding.units_included) - remaining} units gone, " \
            f"{taken[holding.holding_id]} consumed"


ORDER_CLAIM = "order:"


def _audit_order_claim(claim: store.PaymentClaimRecord) -> None:
    """A claim owned by a game-credit order: the order exists and was paid by exactly this payment."""
    order = store.get_order(claim.opening_id.removeprefix(ORDER_CLAIM))
    assert order is not None, f"payment {claim.payment_id} claimed by {claim.opening_id}, which does not exist"
    assert order.payment_id == claim.payment_id, \
        f"payment {claim.payment_id} claimed by {claim.opening_id}, which was paid by {order.payment_id}"


def _audit_supply(pack: store.PackRecord, mine: list[store.OpeningRecord]) -> None:
    """Every shard's reserved and sold units are the openings that took them there; no shard is negative; the
    shards together hold exactly the pack's total."""
    _, shards = store.supply_snapshot(pack.pack_id, store.shard_rows(pack))
    for shard in shards:
        here = [o for o in mine if int(o.supply_shard or 0) == shard.shard]
        reserved = sum(store.units_of(o) for o in here if o.status == "QUOTED")  # a bundle holds all its units
        sold = sum(o.status in {"OPENED", "REFUNDED"} for o in here)
        assert (shard.reserved, shard.sold) == (reserved, sold), \
            f"{pack.pack_id} shard {shard.shard}: reserved/sold {shard.reserved}/{shard.sold}, openings say " \
            f"{reserved}/{sold}"
        assert shard.available >= 0, f"{pack.pack_id} shard {shard.shard}: oversold"
    assert sum(s.available + s.reserved + s.sold for s in shards) == int(pack.supply_total), \
        f"{pack.pack_id}: oversold or units lost"


def _audit_stock(pack: store.PackRecord, openings: dict[str, store.OpeningRecord],
                 vault: list[store.VaultItemRecord]) -> None:
    """The pack's stock chain is intact and its head is its last link; each opening link names an opening of the
    pack that was opened and took exactly those units (a bundle's link, every unit's); the item rows mirror the
    head's count (FAIRNESS.md 13.10)."""
    from packvault.fairness import stock_chain

    links = store.stock_chain(pack.pack_id)
    problems = stock_chain.verify(pack.pack_id, links)
    assert not problems, f"{pack.pack_id}: stock chain {problems}"
    head = store.stock_head(pack.pack_id)
    if head is None:
        return
    assert links and (int(head.seq), head.hash) == (links[-1]["seq"], links[-1]["hash"]), \
        f"{pack.pack_id}: the stock head is not the chain's last link"
    owner = {o.opening_id: o.bundle_id or o.opening_id for o in openings.values()}
    drawn = Counter((owner.get(v.opening_id), v.item_id) for v in vault)
    for link in links:
        if link.get("kind") != "opening":
            continue
        opening = openings.get(link["opening_id"])
        assert opening is not None and opening.pack_id == pack.pack_id and opening.status in {"OPENED", "REFUNDED"}, \
            f"{pack.pack_id}: stock link {link['seq']} names {link['opening_id']}, not an opening of it"
        assert all(drawn[(link["opening_id"], item_id)] == units for item_id, units in link["taken"].items()), \
            f"{pack.pack_id}: stock link {link['seq']} counts other units than {link['opening_id']} drew"
    rows = {row.item_id: row for row in store.pack_items(pack.pack_id)}
    for item_id, left in (head.left or {}).items():
        mirrored = rows[item_id].stock_available if item_id in rows else None
        assert mirrored is not None and int(mirrored) == int(left), \
            f"{pack.pack_id}: item {item_id} shows {mirrored} left, the stock chain counts {left}"
