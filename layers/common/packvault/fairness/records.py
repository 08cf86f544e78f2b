"""The tamper-evident record of openings (FAIRNESS.md section 9): each opened pack's leaf commits to its proof;
each hour's leaves are sealed under one Merkle root that the API publishes and never changes. An opening
cannot be rewritten or hidden after its hour is sealed without the root, or its inclusion path, showing it.

leaf  = sha256(canonical_json({"opening_id", "pack_id", "opened_at", "proof_hash"}))
proof_hash = sha256(canonical_json(the opening's fairness proof as stored when it opened))
node  = sha256(left_bytes || right_bytes) (tree 1); since 13.12 (tree 2) the bottom level is sha256(0x00 || leaf)
        and node = sha256(0x01 || left || right); an odd node at the end of a level moves up unchanged
root of no leaves = sha256(b"")
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from packvault import store
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.fairness import pull_stats
from packvault.fairness.draw import DrawnItem
from packvault.fairness.primitives import canonical_hash

SEAL_AFTER = timedelta(minutes=5)  # an hour is sealed this long after it ends (open transactions have finished)
LOOKBACK_HOURS = 3  # the sweep runs every minute: three hours of outage are still sealed when it returns
_PROOF_EXTRAS = ("odds_table", "item_definitions", "delivered", "inclusion", "opened_at", "pack_id", "commitment")


def proof_hash(fairness: dict[str, Any]) -> str:
    """FAIRNESS.md section 9. A seed-pair proof (an opening paid from the balance) is hashed with its server seed
    null: the seed is revealed later, at rotation, and its hash is already in the proof."""
    hashed = {k: v for k, v in fairness.items() if k not in _PROOF_EXTRAS}
    if hashed.get("scheme") == "seed-pair":
        hashed["server_seed"] = None
    return canonical_hash(hashed)


def leaf(opening_id: str, pack_id: str, opened_at: str, proof_digest: str) -> str:
    return canonical_hash({"opening_id": opening_id, "pack_id": pack_id, "opened_at": opened_at,
                           "proof_hash": proof_digest})


ENDING_TYPE = "packvault-ending"


def ending_leaf(document: dict[str, Any]) -> str:
    """The leaf of a quote that ended without opening (FAIRNESS.md 13.11). Its fields are not an opening leaf's, so
    neither can pass for the other."""
    return canonical_hash({"opening_id": document["opening_id"], "pack_id": document["pack_id"],
                           "ended_at": document["ended_at"], "outcome": document["outcome"],
                           "ending_hash": canonical_hash(document)})


def ending_inclusion(document: dict[str, Any]) -> dict[str, Any] | None:
    """Where an ending sits in its sealed hour, or None until the hour is sealed (or if it is not there)."""
    period = store.record_period(document["ended_at"])
    sealed = _sealed(period)
    if sealed is None:
        return None
    seal, rows = sealed
    leaves, wanted = [row.leaf for row in rows], ending_leaf(document)
    if wanted not in leaves:
        return None
    return _inclusion(period, seal, leaves, leaves.index(wanted))


RECEIPT_TYPE = "packvault-record-receipt"


def record_receipt(opening: store.OpeningRecord) -> dict[str, Any] | None:
    """What the buyer is handed at open (FAIRNESS.md 13.5): its leaf and the hour it must be sealed in, signed with the
    quote key. A leaf left out of that hour, an opening moved to another hour, or a proof rewritten after it was
    recorded then contradicts a document the buyer holds. None for an opening not in the public record."""
    fairness = opening.fairness or {}
    if not opening.opened_at or int(fairness.get("version") or 1) < 2:
        return None
    document = {"type": RECEIPT_TYPE, "opening_id": opening.opening_id, "pack_id": opening.pack_id,
                "opened_at": opening.opened_at, "period": store.record_period(opening.opened_at),
                "leaf": leaf(opening.opening_id, opening.pack_id, opening.opened_at, proof_hash(fairness))}
    from packvault.fairness.quote_signing import sign

    return {**document, **(sign(document) or {"signature": None, "key": None})}


def leaf_row(opening: store.OpeningRecord, fairness: dict[str, Any], opened_at: str,
             drawn: list[DrawnItem] | None = None, revealed: list[dict[str, Any]] | None = None,
             ) -> store.RecordLeafRecord:
    """The opening's leaf row; with its draws (`drawn` and the `revealed` items) kept for the pull statistics."""
    draws = (pull_stats.leaf_draws(int(fairness["odds_version"]), drawn, revealed)
             if drawn is not None and revealed is not None else None)
    return store.record_leaf_row(opening.opening_id, opened_at,
                                 leaf(opening.opening_id, opening.pack_id, opened_at, proof_hash(fairness)),
                                 opening.pack_id, draws)


TREE = 2  # the Merkle tree hours are sealed with from now on (FAIRNESS.md 13.12); sealed hours keep theirs
LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"  # tree 2: a leaf and an inner node can never hash alike


def merkle_levels(leaves: list[str], tree: int = 1) -> list[list[bytes]]:
    """Tree 1 (section 9): the leaves as they are, node = sha256(left || right). Tree 2 (13.12): the bottom level
    is sha256(0x00 || leaf), node = sha256(0x01 || left || right). In both, a node alone at the end of a level
    moves up unchanged."""
    level = [_bottom(bytes.fromhex(x), tree) for x in leaves]
    levels = [level]
    while len(level) > 1:
        level = [_node(level[i], level[i + 1], tree) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def _bottom(leaf: bytes, tree: int) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest() if tree >= 2 else leaf


def _node(left: bytes, right: bytes, tree: int) -> bytes:
    return hashlib.sha256((NODE_PREFIX if tree >= 2 else b"") + left + right).digest()


def merkle_root(leaves: list[str], tree: int = 1) -> str:
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return merkle_levels(leaves, tree)[-1][0].hex()


def inclusion_path(leaves: list[str], index: int, tree: int = 1) -> list[dict[str, str]]:
    """The sibling hashes from the leaf up: [{"side": "left"|"right", "hash"}] (a level where the node moved up
    alone contributes nothing)."""
    path = []
    for level in merkle_levels(leaves, tree)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append({"side": "left" if sibling < index else "right", "hash": level[sibling].hex()})
        index //= 2
    return path


def root_from_path(leaf_hex: str, path: list[dict[str, str]], tree: int = 1) -> str:
    node = _bottom(bytes.fromhex(leaf_hex), tree)
    for step in path:
        other = bytes.fromhex(step["hash"])
        node = _node(other, node, tree) if step["side"] == "left" else _node(node, other, tree)
    return node.hex()


OnDrift = Callable[[str, dict[str, Any]], None]  # (pack_id, its realized odds): an operator must look


GENESIS = "0" * 64  # the `prev` of the first chained hour
MAX_HOURS_PER_RUN = 48  # a sweep that was down for days catches up over several runs, still in order


def chain_hash(period: str, root: str, count: int, prev_period: str | None, prev: str,
               quote_key: str | None, tree: int | None = None, stock_heads: dict[str, Any] | None = None) -> str:
    """FAIRNESS.md 13.7: an hour's seal commits to its root, its leaf count, the seal of the hour before it and the
    quote-signing key in force (so the key's history is in the chain, and anchored with it); since 13.12 also to the
    tree its root was computed with (`tree`, absent for tree 1), and since 13.10 to every pack's stock chain head
    (`stock_heads`, absent when not given)."""
    return canonical_hash({"period": period, "root": root, "count": count, "prev_period": prev_period,
                           "prev": prev, "quote_key": quote_key, **({"tree": tree} if tree and tree > 1 else {}),
                           **({"stock_heads": stock_heads} if stock_heads is not None else {})})


def seal_due(now: datetime | None = None, on_drift: OnDrift | None = None) -> int:
    """Seal the finished hours after the chain's head, in order, each on top of the one before, empty hours too
    (the sweep's part); how many were sealed. With no head yet, the last LOOKBACK_HOURS are sealed, the first one
    starting the chain. A run stops at an hour it could not seal (the next run goes on from there). Each pack of a
    sealed hour whose realized odds now drift from the published ones goes to `on_drift`."""
    latest = ((now or datetime.now(UTC)) - SEAL_AFTER).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    head = store.record_head()
    first = (_hour(head.period) + timedelta(hours=1)) if head is not None \
        else latest - timedelta(hours=LOOKBACK_HOURS - 1)
    prev_period, prev = (head.period, head.chain) if head is not None else (None, GENESIS)
    from packvault.fairness.quote_signing import public_key

    quote_key = public_key()["public_key"]
    heads = store.stock_heads()  # the stock chains as they are now, anchored with each hour this run seals (13.10)
    sealed, hour = 0, first
    while hour <= latest and hour < first + timedelta(hours=MAX_HOURS_PER_RUN):
        period = hour.strftime("%Y-%m-%dT%H")
        hour += timedelta(hours=1)
        if head is None and store.get_seal(period) is not None:
            continue  # sealed before hours were chained: the chain starts after it
        rows = store.period_leaves(period)
        root, counts = merkle_root([row.leaf for row in rows], TREE), _hour_counts(rows)
        link = store.SealLink(prev_period, prev, chain_hash(period, root, len(rows), prev_period, prev, quote_key,
                                                            TREE, heads), quote_key, TREE, heads)
        if not store.put_seal(period, root, len(rows), counts, link):  # the next run goes on from here
            break
        sealed += 1
        prev_period, prev = period, link.chain
        _check_drift(counts, on_drift)
    return sealed


def _hour(period: str) -> datetime:
    return datetime.strptime(period, "%Y-%m-%dT%H").replace(tzinfo=UTC)


def _check_drift(counts: dict[str, store.HourCounts], on_drift: OnDrift | None) -> None:
    for pack_id, hour in counts.items():
        pack = store.get_pack(pack_id) if on_drift is not None and hour.merged_summary is not None else None
        if pack is None:
            continue
        fit = pull_stats.realized_odds(pack_id, json.loads(hour.merged_summary), int(pack.odds_version))
        if fit is not None and fit["drift"]:
            on_drift(pack_id, fit)


def _hour_counts(rows: list[store.RecordLeafRecord]) -> dict[str, store.HourCounts]:
    """Each pack's openings and pull statistics of the hour, with its all-time statistics merged (pull_stats)."""
    counts = Counter(row.pack_id for row in rows if row.pack_id and not row.ended)
    counts.update({row.pack_id: 0 for row in rows if row.pack_id})  # a pack whose quotes only ended: its rates
    hours = pull_stats.fold_hour(rows)
    totals = store.pack_summaries(list(counts))
    answer = {}
    for pack_id, opened in counts.items():
        total = totals.get(pack_id)
        before = json.loads(total.summary) if total is not None and total.summary else pull_stats.empty()
        merged = pull_stats.merge(before, hours[pack_id])
        answer[pack_id] = store.HourCounts(opened, _compact(hours[pack_id]), _compact(merged),
                                           total.through if total is not None else None)
    return answer


def _compact(summary: pull_stats.Summary) -> str:
    return json.dumps(summary, separators=(",", ":"), sort_keys=True)


_SEALED: dict[tuple[str, str], tuple[Any, list[Any]]] = {}


def _sealed(period: str) -> tuple[Any, list[Any]] | None:
    """(seal, leaf rows) of a sealed hour: immutable once sealed, so read once per container (16 queries)."""
    key = (store.RecordSealRecord.Meta.table_name, period)
    if key not in _SEALED:
        seal = store.get_seal(period)
        if seal is None:
            return None
        _SEALED[key] = (seal, store.period_leaves(period))
    return _SEALED[key]


def period_record(period: str) -> dict[str, Any]:
    """GET /api/v1/fairness/records/{period}: the sealed root and every leaf, to recompute it."""
    if len(period) != 13 or period[10] != "T":
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "period is an hour: YYYY-MM-DDTHH (UTC).", field="period")
    sealed = _sealed(period)
    if sealed is None:
        raise PackvaultError(ErrorCode.RECORD_NOT_SEALED)
    seal, rows = sealed
    if seal.anchor_signature is None and int(seal.count) > 0:  # anchored after it was cached: read the seal again
        seal = store.get_seal(period) or seal
        _SEALED[(store.RecordSealRecord.Meta.table_name, period)] = (seal, rows)
    leaves = [row.leaf for row in rows]
    answer = {"period": period, "root": seal.root, "count": int(seal.count), "sealed_at": seal.sealed_at,
              "leaves": leaves, "entries": [_entry(row) for row in rows]}
    if seal.chain:  # chained (FAIRNESS.md 13.7): the hour sealed before it, and this hour's chain hash
        answer |= {"prev_period": seal.prev_period, "prev": seal.prev, "quote_key": seal.quote_key,
                   "chain_hash": seal.chain}
    if seal.tree and int(seal.tree) > 1:  # the Merkle tree its root was computed with (13.12)
        answer["tree"] = int(seal.tree)
    if seal.stock_heads is not None:  # every pack's stock chain head when it was sealed (13.10)
        answer["stock_heads"] = seal.stock_heads
    if seal.anchor_signature:
        from packvault.fairness.anchoring import memo_text

        answer["anchor"] = {"chain": "solana", "signature": seal.anchor_signature,
                            "memo": memo_text(period, seal.root, seal.chain), "anchored_at": seal.anchored_at}
    return answer


def _entry(row: store.RecordLeafRecord) -> dict[str, Any]:
    """What a leaf is recorded under (FAIRNESS.md 13.12): its opening, the time that orders it, and whether it is an
    ending (13.11), so anyone can check the hour's ordering rule and find an opening's leaf."""
    return {"opening_id": row.opening_id, "at": row.sk.partition("#")[0], **({"ended": row.ended} if row.ended else {})}


def order_problems(published: dict[str, Any]) -> list[str]:
    """A sealed hour's leaves are in (at, opening_id) order, one entry each, every `at` inside the hour."""
    entries = published.get("entries")
    if entries is None:
        return []  # published before entries were
    if len(entries) != len(published.get("leaves", [])):
        return [f"the record of {published['period']} lists {len(entries)} entries for {len(published['leaves'])} "
                "leaves"]
    keys = [(str(entry["at"]), str(entry["opening_id"])) for entry in entries]
    problems = []
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        problems.append(f"the leaves of {published['period']} are not in (time, opening id) order")
    if any(not at.startswith(published["period"]) for at, _ in keys):
        problems.append(f"the record of {published['period']} holds a leaf from another hour")
    return problems


def inclusion(opening: store.OpeningRecord) -> dict[str, Any] | None:
    """Where a v2 or v3 opening sits in its sealed hour, or None until the hour is sealed."""
    if not opening.opened_at or not opening.fairness or int(opening.fairness.get("version") or 1) < 2:
        return None
    period = store.record_period(opening.opened_at)
    sealed = _sealed(period)
    if sealed is None:
        return None
    seal, rows = sealed
    index = next((n for n, row in enumerate(rows) if row.opening_id == opening.opening_id and not row.ended), None)
    if index is None:
        return None
    return _inclusion(period, seal, [row.leaf for row in rows], index)


def _inclusion(period: str, seal: Any, leaves: list[str], index: int) -> dict[str, Any]:
    tree = int(seal.tree or 1)
    return {"period": period, "index": index, "leaf": leaves[index], "path": inclusion_path(leaves, index, tree),
            "root": seal.root, **({"tree": tree} if tree > 1 else {})}
