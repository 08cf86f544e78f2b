"""The stock history chain of a pack (fairness v2, docs/FAIRNESS.md section 9; the stock accounting of v3, 13.10):
every change to a finite item's count or to what a quote commits to is a link whose hash covers the previous link's,
written in the same transaction as the change. A catalog load that changes the stock totals or the supply is a
`load` link; since v3 an opening that takes finite units is an `opening` link, and every link carries the units
`left` after it, so anyone can recount the stock any opening drew with from the chain alone
(GET /api/v1/packs/{pack_id}/stock-chain), and an opening's proof names the link whose state it drew with."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from packvault.fairness.primitives import canonical_hash

GENESIS = "0" * 64
LINK_FIELDS = ("pack_id", "seq", "prev", "stock_totals", "supply_total", "at")  # a v2 load link (no `kind`)
COUNTED_FIELDS = (*LINK_FIELDS, "kind", "left")  # a v3 link: what it is, and the units left after it
OPENING_FIELDS = (*COUNTED_FIELDS, "opening_id", "taken")  # a v3 opening link: which opening took what


def link(pack_id: str, seq: int, prev: str, stock_totals: dict[str, int], supply_total: int | None,
         at: str) -> dict[str, Any]:
    """A v2 link: `hash = hex(sha256(canonical_json({pack_id, seq, prev, stock_totals, supply_total, at})))`."""
    body = {"pack_id": pack_id, "seq": seq, "prev": prev, "stock_totals": dict(sorted(stock_totals.items())),
            "supply_total": supply_total, "at": at}
    return {**body, "hash": canonical_hash(body)}


def load_link(prior: dict[str, Any] | None, pack_id: str, stock_totals: dict[str, int], supply_total: int | None,
              at: str) -> dict[str, Any]:
    """The link a catalog load writes after `prior` (the chain's state; None for a new pack): an item finite before
    and after keeps the units drawn from it (left moves by the change of its total), an item finite from now on
    starts full, an item no longer finite leaves the count. Raises ValueError if a total would go below what was
    drawn."""
    before_left, before_totals = (prior or {}).get("left") or {}, (prior or {}).get("stock_totals") or {}
    left = {}
    for item_id, total in stock_totals.items():
        if item_id in before_totals and item_id in before_left:
            left[item_id] = int(before_left[item_id]) + int(total) - int(before_totals[item_id])
            if left[item_id] < 0:
                raise ValueError(f"item {item_id}: {int(before_totals[item_id]) - int(before_left[item_id])} units "
                                 f"were drawn already; its total cannot be {total}")
        else:
            left[item_id] = int(total)
    return _counted(pack_id, prior, "load", stock_totals, supply_total, left, at)


def opening_link(prior: dict[str, Any], pack_id: str, opening_id: str, taken: dict[str, int],
                 at: str) -> dict[str, Any]:
    """The link an opening that takes finite units writes after `prior`, the state its draw used."""
    left = {item_id: int(units) - int(taken.get(item_id, 0)) for item_id, units in prior["left"].items()}
    return _counted(pack_id, prior, "opening", prior["stock_totals"], prior["supply_total"], left, at,
                    {"opening_id": opening_id, "taken": dict(sorted(taken.items()))})


def _counted(pack_id: str, prior: dict[str, Any] | None, kind: str, stock_totals: dict[str, int],
             supply_total: int | None, left: dict[str, int], at: str,
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"pack_id": pack_id, "seq": int(prior["seq"]) + 1 if prior else 1,
            "prev": prior["hash"] if prior else GENESIS, "kind": kind,
            "stock_totals": {k: int(v) for k, v in sorted(stock_totals.items())},
            "supply_total": supply_total, "left": dict(sorted(left.items())), "at": at, **(extra or {})}
    return {**body, "hash": canonical_hash(body)}


def hashed_fields(entry: dict[str, Any]) -> tuple[str, ...]:
    """The fields a link's hash covers, by its kind (FAIRNESS.md 9 and 13.10)."""
    if entry.get("kind") == "opening":
        return OPENING_FIELDS
    return COUNTED_FIELDS if entry.get("kind") else LINK_FIELDS


def uncounted_state(seq: int | None, head: str | None, supply_total: int | None,
                    counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The state of a pack whose chain never counted units (loaded before v3): its last link, with the units its item
    rows count ({item_id: (total, available)}). Its next link starts the count (count_problems)."""
    return {"seq": int(seq or 0), "hash": head or GENESIS, "supply_total": supply_total,
            "stock_totals": {item_id: int(total) for item_id, (total, _) in counts.items()},
            "left": {item_id: max(0, int(available)) for item_id, (_, available) in counts.items()}}


def state_of(entry: dict[str, Any]) -> dict[str, Any]:
    """What a link says the pack's stock is after it: its seq and hash, totals, supply and the units left (None for
    a v2 link, which did not count them)."""
    left = entry.get("left")
    return {"seq": int(entry["seq"]), "hash": entry["hash"],
            "stock_totals": {k: int(v) for k, v in (entry.get("stock_totals") or {}).items()},
            "supply_total": entry.get("supply_total"),
            "left": {k: int(v) for k, v in left.items()} if left is not None else None}


def changed(previous_totals: dict[str, int] | None, previous_supply: int | None, totals: dict[str, int],
            supply_total: int | None, first: bool) -> bool:
    """Whether a load changes what quotes commit to (a new pack always starts its chain)."""
    return first or dict(previous_totals or {}) != dict(totals) or previous_supply != supply_total


def verify(pack_id: str, links: list[dict[str, Any]]) -> list[str]:
    """Problems with a chain, oldest link first: each link hashes to its `hash`, names the previous link's hash,
    the sequence runs 1, 2, 3, ... without gaps, and each counted link's units left follow from the link before
    it (13.10). Empty when intact."""
    problems, prev, before = [], GENESIS, None
    for expected_seq, entry in enumerate(links, start=1):
        body = {name: entry.get(name) for name in hashed_fields(entry)}
        if entry.get("pack_id") != pack_id:
            problems.append(f"link {entry.get('seq')} belongs to another pack")
        if entry.get("seq") != expected_seq:
            problems.append(f"link {expected_seq} is missing (found {entry.get('seq')})")
        if entry.get("prev") != prev:
            problems.append(f"link {entry.get('seq')} does not follow the link before it")
        if canonical_hash(body) != entry.get("hash"):
            problems.append(f"link {entry.get('seq')} was changed after it was written")
        problems += [f"link {entry.get('seq')}: {problem}" for problem in count_problems(before, entry)]
        prev, before = entry.get("hash"), entry
    return problems


def count_problems(before: dict[str, Any] | None, entry: dict[str, Any]) -> list[str]:
    """Whether a counted link's `left` follows from the link before it: an opening takes units that were there and
    changes nothing else; a load moves each item's count by the change of its total (a new item starts full). The
    first counted link (a pack's first link, or its first since v3) starts the count: only 0 <= left <= total is
    checked, and what it says is public from then on."""
    kind = entry.get("kind")
    if not kind:
        return []
    totals, left = entry.get("stock_totals") or {}, entry.get("left")
    if not isinstance(left, dict) or set(left) != set(totals) or any(
            not 0 <= int(left[k]) <= int(totals[k]) for k in left):
        return ["its units left are not a count of its finite items"]
    earlier = before.get("left") if before else None
    if kind == "opening":
        if before is None or earlier is None:
            return [] if before is not None else ["an opening cannot start the chain"]
        taken = entry.get("taken") or {}
        if entry.get("stock_totals") != before.get("stock_totals") or \
                entry.get("supply_total") != before.get("supply_total"):
            return ["an opening changed the totals"]
        if any(k not in earlier or int(units) <= 0 or int(units) > int(earlier[k]) for k, units in taken.items()):
            return [f"it takes units that were not there ({taken})"]
        expected = {k: int(v) - int(taken.get(k, 0)) for k, v in earlier.items()}
        return [] if expected == {k: int(v) for k, v in left.items()} else \
            [f"its units left {left} are not the {expected} the link before it leaves after what it took"]
    if before is None or earlier is None:  # the count starts here (a pack's first link, or its first since v3)
        return []
    try:
        expected = load_link(state_of(before) if before else None, str(entry.get("pack_id")), totals,
                             entry.get("supply_total"), str(entry.get("at")))["left"]
    except ValueError as exc:
        return [str(exc)]
    return [] if expected == {k: int(v) for k, v in left.items()} else \
        [f"its units left {left} do not follow from the link before it ({expected})"]


def derived_stock(state: dict[str, Any], committed: dict[str, Any] | None,
                  short_left: dict[str, int] | None = None) -> dict[str, int]:
    """The stock an opening draws with at a chain state (FAIRNESS.md 5 and 13.10): for an item its quote committed to,
    the committed total less the units drawn since the catalog set its current total (total - left); an item finite
    since the quote, or an opening that committed nothing (v1), counts the units left. An item an abandoned round
    found short counts no more than is left and than that round recorded (13.4)."""
    short_left = short_left or {}
    stock = {}
    for item_id, left in state["left"].items():
        if committed is not None and item_id in committed:
            drawn_since_load = int(state["stock_totals"][item_id]) - int(left)
            stock[item_id] = max(0, int(committed[item_id]) - drawn_since_load)
            if item_id in short_left:
                stock[item_id] = min(stock[item_id], int(left), short_left[item_id])
        else:
            stock[item_id] = int(left)
    return stock


COMMIT_GRACE_SECONDS = 5  # a load's link time and a quote's are each taken just before their own transaction


def totals_in_force(links: list[dict[str, Any]], moment: str) -> list[dict[str, int]]:
    """Every stock-totals state a quote made at `moment` may have committed to: the one in force at the moment, and
    any in force during the COMMIT_GRACE_SECONDS before it (a quote whose transaction beat a load that had already
    taken its link time commits the totals before the load, with a later time). Empty before the first link."""
    start = (datetime.fromisoformat(moment.replace("Z", "+00:00")) - timedelta(seconds=COMMIT_GRACE_SECONDS))
    earliest = start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    found = [state_at(links, earliest)] + [entry for entry in links if earliest < entry["at"] <= moment]
    return [{k: int(v) for k, v in state["stock_totals"].items()} for state in found if state is not None]


def state_at(links: list[dict[str, Any]], moment: str) -> dict[str, Any] | None:
    """The stock totals and supply in force at `moment` (ISO 8601 UTC): the last link written at or before it."""
    current = None
    for entry in links:
        if entry["at"] <= moment:
            current = {"stock_totals": entry["stock_totals"], "supply_total": entry["supply_total"],
                       "seq": entry["seq"]}
    return current


def proof_problems(proof: dict[str, Any], links: list[dict[str, Any]]) -> list[str]:
    """What the pack's public stock chain says about an opening's proof (FAIRNESS.md 13.10): the link it names is on
    the chain with that hash; the stock it drew with (and each abandoned round's, and the units each found short)
    is what that link's state gives; an opening that took finite units is the very next link, taking exactly
    them, and one that took none is on no link. Empty when all holds, or when the proof names no link (it drew
    before the accounting began)."""
    named = proof.get("stock_link")
    if not named:
        return []
    by_seq = {int(entry["seq"]): entry for entry in links}
    state, problems = _named_state(named, by_seq)
    if state is None:
        return problems
    committed, caps = proof.get("stock_committed"), {}
    for past in proof.get("abandoned_rounds") or []:
        past_state, found = _named_state(past.get("stock_link"), by_seq) if past.get("stock_link") else (None, [])
        problems += found
        if past_state is not None:
            problems += _round_problems(past, past_state, committed, caps)
        for item_id, short in (past.get("short") or {}).items():
            caps[item_id] = min(caps.get(item_id, int(short["available"])), int(short["available"]))
    expected, stock = derived_stock(state, committed, caps), {k: int(v) for k, v in (proof.get("stock") or {}).items()}
    bundle = proof.get("bundle") or {}
    if int(bundle.get("index") or 0) > 0:  # a later unit draws from what the earlier units left: at most this
        if set(stock) != set(expected) or any(stock[k] > expected[k] for k in stock):
            problems.append(f"the stock the draw used {stock} exceeds what link {named['seq']} leaves {expected}")
        return problems
    if stock != expected:
        problems.append(f"the stock the draw used {stock} is not what the stock chain's link {named['seq']} leaves "
                        f"({expected}): the count was changed outside the chain")
    if not bundle:
        problems += _own_link_problems(proof, stock, by_seq, int(named["seq"]), links)
    return problems + _stale_problems(proof, int(named["seq"]), links)


def _stale_problems(proof: dict[str, Any], seq: int, links: list[dict[str, Any]]) -> list[str]:
    """The state a draw used is the chain's head when it opened: no other link after the one it names was written
    more than COMMIT_GRACE_SECONDS before its `opened_at` (an opening reads the head just before its transaction; a
    taker's own link is conditioned on the head, one that took nothing is bounded by this)."""
    opened_at = proof.get("opened_at")
    if not opened_at:
        return []
    bundle_id = (proof.get("bundle") or {}).get("bundle_id")
    own = {proof.get("opening_id"), bundle_id} - {None}
    cutoff = (datetime.fromisoformat(str(opened_at).replace("Z", "+00:00")) - timedelta(
        seconds=COMMIT_GRACE_SECONDS)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    later = [entry for entry in links if int(entry["seq"]) > seq and entry.get("opening_id") not in own
             and str(entry["at"]) <= cutoff]
    return [f"the draw used link {seq}, but link {later[0]['seq']} was written before it opened: a stale count"] \
        if later else []


def _named_state(named: dict[str, Any], by_seq: dict[int, dict[str, Any]]) -> tuple[dict[str, Any] | None, list[str]]:
    entry = by_seq.get(int(named.get("seq") or 0))
    if entry is None or entry.get("hash") != named.get("hash"):
        return None, [f"the stock chain has no link {named.get('seq')} with the hash the proof names (the chain was "
                      "rewritten after the opening)"]
    state = state_of(entry)
    return (state, []) if state["left"] is not None else (None, [])  # a v2 link counted nothing: nothing to check


def _round_problems(past: dict[str, Any], state: dict[str, Any], committed: dict[str, Any] | None,
                    caps: dict[str, int]) -> list[str]:
    problems = []
    if derived_stock(state, committed, caps) != {k: int(v) for k, v in (past.get("stock") or {}).items()}:
        problems.append(f"abandoned round {past.get('round')}: its stock is not what link {state['seq']} leaves")
    for item_id, short in (past.get("short") or {}).items():
        if int(short["available"]) != state["left"].get(item_id, 0) or \
                int(short["total"]) != state["stock_totals"].get(item_id, 0):
            problems.append(f"abandoned round {past.get('round')}: {item_id} had {state['left'].get(item_id, 0)} "
                            f"left of {state['stock_totals'].get(item_id, 0)} at link {state['seq']}, not the "
                            f"{short['available']} of {short['total']} the round claims")
    return problems


def _own_link_problems(proof: dict[str, Any], stock: dict[str, int], by_seq: dict[int, dict[str, Any]], seq: int,
                       links: list[dict[str, Any]]) -> list[str]:
    taken: dict[str, int] = {}
    for drawn in proof.get("items") or []:
        if drawn["item_id"] in stock:
            taken[drawn["item_id"]] = taken.get(drawn["item_id"], 0) + 1
    own = [entry for entry in links if entry.get("kind") == "opening" and entry.get("opening_id") == proof.get(
        "opening_id")]
    if not taken:
        return ["the stock chain records units this opening did not take"] if own else []
    after = by_seq.get(seq + 1)
    if len(own) != 1 or after is not own[0] or {k: int(v) for k, v in (after.get("taken") or {}).items()} != taken:
        return [f"the stock chain does not record the {taken} this opening took right after link {seq}"]
    return []
