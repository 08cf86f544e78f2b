"""An opening's fairness proof: what is published when the pack opens, and its independent check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from packvault.fairness.draw import DrawInputs, NothingToDraw, OddsTable, draw_opening
from packvault.fairness.primitives import canonical_hash, canonical_json, commitment

PROOF_FIELDS = ("opening_id", "server_seed", "server_seed_hash", "client_seed", "round", "stock", "odds_version",
                "odds_hash", "odds_table", "items")


@dataclass(frozen=True)
class ProofCheck:
    match: bool
    problems: list[str] = field(default_factory=list)
    expected_items: list[dict[str, str]] = field(default_factory=list)
    incomplete: bool = False  # an input is missing (or not yet revealed): nothing could be checked
    warnings: list[str] = field(default_factory=list)  # consistent, but worth a buyer's attention

    @property
    def verdict(self) -> str:
        return "incomplete" if self.incomplete else "match" if self.match else "mismatch"


def check_proof(proof: dict[str, Any]) -> ProofCheck:
    """Recompute an opening from its proof alone (docs/FAIRNESS.md section 6)."""
    missing = [name for name in PROOF_FIELDS if proof.get(name) is None]
    if missing:
        return ProofCheck(False, [f"the proof lacks {', '.join(missing)}"
                                  + (" (a seed pair's server seed is revealed when the pair is rotated)"
                                     if "server_seed" in missing and proof.get("scheme") == "seed-pair" else "")],
                          incomplete=True)
    problems = []
    try:
        seed_ok = commitment(proof["server_seed"]) == proof["server_seed_hash"]
    except ValueError:
        seed_ok = False
    if not seed_ok:
        problems.append("sha256(server_seed) is not server_seed_hash: the revealed seed is not the committed one")
    if canonical_hash(proof["odds_table"]) != proof["odds_hash"]:
        problems.append("the odds table does not hash to odds_hash")
    if problems:
        return ProofCheck(False, problems)
    # A balance opening draws under its seed pair's nonce ("draw_id"), fixed before the buyer chose to open.
    inputs = DrawInputs(proof["server_seed"], proof["client_seed"], proof.get("draw_id", proof["opening_id"]),
                        int(proof["round"]))
    try:
        drawn = draw_opening(OddsTable.from_document(proof["odds_table"]), inputs, proof["stock"])
    except NothingToDraw as exc:
        return ProofCheck(False, [f"nothing could be drawn from this odds table and stock: {exc}"])
    expected = [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn]
    problems = _check_v2(proof)
    if problems:
        return ProofCheck(False, problems, expected)
    published = [{"tier_id": i["tier_id"], "item_id": i["item_id"]} for i in proof["items"]]
    if expected != published:
        differences = [
            f"draw {n}: published {p['item_id']} ({p['tier_id']}), recomputed {e['item_id']} ({e['tier_id']})"
            for n, (p, e) in enumerate(zip(published, expected, strict=False)) if p != e
        ]
        if len(published) != len(expected):
            differences.append(f"published {len(published)} items, recomputed {len(expected)}")
        return ProofCheck(False, differences, expected)
    return ProofCheck(True, [], expected, warnings=_withdrawn_stock(proof) + v3_warnings(proof))


def _check_v2(proof: dict[str, Any]) -> list[str]:
    """Fairness v2 (FAIRNESS.md 5): the stock drawn with never exceeds what the quote committed to, and every
    abandoned round is recomputable and names a unit of its own draw that was gone."""
    if not isinstance(proof.get("version"), int) or proof["version"] < 2:
        return []
    committed = proof.get("stock_committed") or {}
    problems = [f"stock of {item_id} ({units}) exceeds the {committed[item_id]} the quote committed to"
                for item_id, units in proof["stock"].items() if item_id in committed and units > committed[item_id]]
    problems += _check_assets(proof) + _check_inclusion(proof) + _check_bundle(proof) + _check_v3(proof)
    rounds = proof.get("abandoned_rounds") or []
    if [r.get("round") for r in rounds] != list(range(int(proof["round"]))):
        problems.append(f"round {proof['round']} needs abandoned rounds 0..{int(proof['round']) - 1} on the record, "
                        f"found {[r.get('round') for r in rounds]}")
        return problems
    table = OddsTable.from_document(proof["odds_table"])
    for n, abandoned in enumerate(rounds):
        inputs = DrawInputs(proof["server_seed"], proof["client_seed"], proof.get("draw_id", proof["opening_id"]),
                            int(abandoned["round"]))
        try:
            drawn = [{"tier_id": d.tier_id, "item_id": d.item_id} for d in draw_opening(table, inputs,
                                                                                      abandoned["stock"])]
        except NothingToDraw:
            drawn = []
        if drawn != abandoned.get("items"):
            problems.append(f"abandoned round {abandoned['round']} does not recompute to the items it lists")
        drawn_ids = {d["item_id"] for d in drawn}
        if not abandoned.get("short") or not set(abandoned["short"]) <= drawn_ids:
            problems.append(f"abandoned round {abandoned['round']} names no unit of its own draw that was gone")
            continue
        following = rounds[n + 1]["stock"] if n + 1 < len(rounds) else proof["stock"]
        problems += _short_counts(abandoned, [d["item_id"] for d in drawn], following)
    return problems


def _short_counts(abandoned: dict[str, Any], drawn: list[str], following: dict[str, Any]) -> list[str]:
    """An abandoned round's evidence agrees with itself and with the round after it (FAIRNESS.md 13.4): each short
    item was needed as often as the round drew it, had fewer units available than that, and the next round counts at
    most those units (a round claiming an item gone and a next round still counting it is forged)."""
    problems = []
    for item_id, short in abandoned["short"].items():
        needed, available = short.get("needed"), short.get("available")
        if not isinstance(needed, int) or not isinstance(available, int) or needed != drawn.count(item_id) \
                or not 0 <= available < needed:
            problems.append(f"abandoned round {abandoned['round']}: {item_id} was not short as recorded")
        elif not isinstance(following.get(item_id), int) or following[item_id] > available:
            problems.append(f"abandoned round {abandoned['round']} says {available} of {item_id} were left, but the "
                            f"next round counts {following.get(item_id)}")
    return problems


def _check_bundle(proof: dict[str, Any]) -> list[str]:
    """A unit of a bundle (FAIRNESS.md section 12): its opening id follows from the bundle id and its index, and
    its server seed hash is the one the bundle's quote committed to at that index."""
    bundle = proof.get("bundle")
    if bundle is None:
        return []
    from packvault.fairness.primitives import unit_opening_id

    index, hashes = bundle.get("index"), bundle.get("server_seed_hashes") or []
    if not isinstance(index, int) or not 0 <= index < len(hashes) or len(hashes) != bundle.get("quantity"):
        return ["the bundle's index, quantity and committed seed hashes do not agree"]
    problems = []
    if proof["opening_id"] != unit_opening_id(str(bundle.get("bundle_id")), index):
        problems.append(f"unit {index}'s opening id is not the one its bundle id fixes")
    if hashes[index] != proof["server_seed_hash"]:
        problems.append(f"unit {index}'s server seed hash is not the one the bundle committed to")
    return problems


def _withdrawn_stock(proof: dict[str, Any]) -> list[str]:
    """A redraw caused by stock taken away after the quote (the item's total now below what the quote committed
    to) is consistent, but it is the operator's doing, not another buyer's: say so."""
    found = []
    for abandoned in proof.get("abandoned_rounds") or []:
        for item_id, short in (abandoned.get("short") or {}).items():
            if 0 <= short.get("total", 0) < short.get("committed", -1):
                found.append(f"round {abandoned['round']} was abandoned because {item_id}'s stock was cut from "
                             f"{short['committed']} (committed at quote time) to {short['total']} before it opened")
    return found


def check_against_quote(proof: dict[str, Any], quote: dict[str, Any], published_key: str | None = None) -> list[str]:
    """The proof against the quote the buyer kept (fairness v2): the quote's signature by the published key, and
    the proof opening exactly what that quote committed to. Problems, or none."""
    from packvault.fairness.quote_signing import verify

    committed = quote.get("commitment")
    if not isinstance(committed, dict):
        return ["the quote carries no commitment (a v1 quote, or not a purchase answer)"]
    problems = []
    if canonical_hash(committed) != quote.get("quote_hash"):
        problems.append("the quote's commitment does not hash to its quote_hash")
    signature, key = quote.get("quote_signature"), quote.get("quote_key")
    if not signature or not key:
        problems.append("the quote is not signed")
    elif not verify(committed, signature, key):
        problems.append("the quote's signature does not verify with its key")
    elif published_key is not None and key != published_key:
        problems.append("the quote was signed with another key than the one the API publishes")
    names = ("opening_id", "server_seed_hash", "odds_version", "odds_hash", "stock_committed", "items_hash")
    unit = _committed_unit(proof, committed)
    for name in names:
        if proof.get(name) != (unit if name in unit else committed).get(name):
            problems.append(f"{name} differs from the quote's: the opening is not the one you were quoted")
    seed = committed.get("client_seed")
    parts = client_seed_parts(proof.get("client_seed"))
    in_draw = parts is not None and parts[1] == seed if proof.get("version") == 3 \
        else f":{seed}" in str(proof.get("client_seed", ""))
    if seed and not in_draw:
        problems.append("the client seed you sent with the purchase is not in the draw's client seed")
    return problems


def client_seed_parts(client_seed: Any) -> tuple[str, str | None] | None:
    """A v3 client seed read back as (entropy, purchase seed): it must be exactly canonical_json([entropy, seed or
    null]) (FAIRNESS.md 13.2); None when it is not."""
    try:
        parts = json.loads(client_seed) if isinstance(client_seed, str) else None
    except ValueError:
        return None
    if not (isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], str) and parts[0]
            and (parts[1] is None or isinstance(parts[1], str))) or canonical_json(parts).decode() != client_seed:
        return None
    return parts[0], parts[1]


def _check_v3(proof: dict[str, Any]) -> list[str]:
    """Version 3 (FAIRNESS.md 13): the client seed is the canonical [entropy, purchase seed] with the entropy the
    proof names, and the signed commitment the public proof carries is intact and is what the proof opened."""
    if proof.get("version") != 3:
        return []
    entropy, parts = proof.get("entropy") or {}, client_seed_parts(proof.get("client_seed"))
    if parts is None:
        return ["the client seed is not canonical_json([entropy, purchase seed]): not a version 3 client seed"]
    problems = []
    if not isinstance(entropy, dict) or entropy.get("value") != parts[0] or not entropy.get("source"):
        problems.append("the client seed does not start with the entropy the proof names")
    signed = proof.get("commitment")
    if signed is None:  # the buyer's own copy of the proof: the public one carries the commitment
        return problems
    document = signed.get("commitment") if isinstance(signed, dict) else None
    if not isinstance(document, dict) or canonical_hash(document) != signed.get("quote_hash"):
        return [*problems, "the commitment does not hash to its quote_hash"]
    if signed.get("quote_signature") and not _signature_ok(document, signed):
        problems.append("the commitment's signature does not verify with its quote_key")
    unit = _committed_unit(proof, document)
    for name in ("opening_id", "server_seed_hash", "odds_version", "odds_hash", "stock_committed", "items_hash"):
        if proof.get(name) != (unit if name in unit else document).get(name):
            problems.append(f"{name} differs from the signed commitment's: the opening is not the one quoted")
    if document.get("version") != 3 or document.get("entropy") != entropy.get("source"):
        problems.append("the commitment does not name the version 3 rule and the entropy this proof used")
    if document.get("client_seed") != parts[1]:
        problems.append("the purchase seed in the client seed is not the one the commitment names")
    if proof.get("opened_at") and not str(document.get("quoted_at", "~")) <= str(proof["opened_at"]):
        problems.append("the commitment was made after the opening (quoted_at is later than opened_at)")
    return problems


def _signature_ok(document: dict[str, Any], signed: dict[str, Any]) -> bool:
    from packvault.fairness.quote_signing import verify

    return bool(signed.get("quote_key")) and verify(document, signed["quote_signature"], signed["quote_key"])


def v3_warnings(proof: dict[str, Any]) -> list[str]:
    """Consistent, but worth the buyer's attention: a commitment nobody signed, or a payment that did not carry it."""
    if proof.get("version") != 3:
        return []
    found = []
    signed = proof.get("commitment")
    if isinstance(signed, dict) and not signed.get("quote_signature"):
        found.append("the commitment is not signed (this deployment has no quote-signing key)")
    if proof.get("commitment_on_chain") is False:
        found.append("the payment's memo did not carry the quote hash: the commitment is not on chain, so only the "
                     "quote you kept (verify-opening --quote) shows it existed before you paid")
    return found


def check_vault(proof: dict[str, Any], vault_items: list[dict[str, Any]]) -> list[str]:
    """The buyer's vault against the proof (FAIRNESS.md 9, the vault): every vault item id the proof records is in
    the vault, from this opening, and is exactly the committed definition delivered at its place (its fields hash to
    the definition's hash, and so does the `definition_hash` the vault answers)."""
    ids = proof.get("vault_item_ids") or []
    definitions = {entry["item_id"]: entry for entry in proof.get("item_definitions") or []}
    if not definitions:  # the proof commits to no item definitions (a balance opening): nothing to hold it to
        return []
    held = {item.get("vault_item_id"): item for item in vault_items}
    problems = []
    for n, (vault_item_id, drawn) in enumerate(zip(ids, proof.get("items") or [], strict=False)):
        item = held.get(vault_item_id)
        if item is None:
            problems.append(f"vault item {n} ({vault_item_id}) is not in the vault")
            continue
        expected = definitions.get(drawn["item_id"])
        mine = {name: item.get(name) for name in ("item_id", "tier_id", "name", "nft_id", "rarity", "fmv", "metadata")}
        mine |= {"image_url": item["image_url"]} if item.get("image_url") else {}
        if item.get("opening_id") != proof.get("opening_id") or expected is None \
                or canonical_hash([mine]) != canonical_hash([expected]) \
                or item.get("definition_hash") != canonical_hash([expected]):
            problems.append(f"vault item {n} ({vault_item_id}) is not the definition this opening delivered")
    return problems


def check_receipt(proof: dict[str, Any], receipt: dict[str, Any], published_key: str | None = None) -> list[str]:
    """The public proof against the record receipt the buyer was handed at open (FAIRNESS.md 13.5): the receipt is
    signed by the quote key (the published one, when given), names this opening, and the proof still hashes to the
    receipt's leaf in the receipt's hour."""
    from packvault.fairness.quote_signing import verify
    from packvault.fairness.records import RECEIPT_TYPE, leaf, proof_hash

    document = {key: value for key, value in receipt.items() if key not in {"signature", "key"}}
    problems = []
    if document.get("type") != RECEIPT_TYPE or document.get("opening_id") != proof.get("opening_id"):
        return ["the receipt is not a record receipt of this opening"]
    if not receipt.get("signature") or not receipt.get("key"):
        problems.append("the receipt is not signed")
    elif not verify(document, receipt["signature"], receipt["key"]):
        problems.append("the receipt's signature does not verify with its key")
    elif published_key is not None and receipt["key"] != published_key:
        problems.append("the receipt was signed with another key than the one the API publishes")
    opened_at = proof.get("opened_at")
    if not opened_at or not proof.get("pack_id"):
        return [*problems, "the proof carries no opened_at and pack_id: check the public proof (--api)"]
    if str(opened_at)[:13] != document.get("period"):
        problems.append(f"your receipt puts this opening in the record of {document.get('period')}; the proof now says "
                        f"{str(opened_at)[:13]}: it was moved")
    if leaf(proof["opening_id"], proof["pack_id"], opened_at, proof_hash(proof)) != document.get("leaf"):
        problems.append("the proof no longer hashes to the leaf on your receipt: it was changed after it was recorded")
    return problems


def _committed_unit(proof: dict[str, Any], committed: dict[str, Any]) -> dict[str, Any]:
    """A bundle unit's entry in its quote's commitment ({opening_id, server_seed_hash}); {} for a single pack."""
    index = (proof.get("bundle") or {}).get("index")
    units = committed.get("units") or []
    return units[index] if isinstance(index, int) and 0 <= index < len(units) else {}


def _check_assets(proof: dict[str, Any]) -> list[str]:
    """v2: the item definitions hash to the committed items_hash, and each delivered item is its definition."""
    definitions, delivered = proof.get("item_definitions"), proof.get("delivered")
    if definitions is None or delivered is None:
        return []  # a proof without them (e.g. the buyer's own copy) is checked for the draw alone
    if canonical_hash(definitions) != proof.get("items_hash"):
        return ["the item definitions do not hash to items_hash: they are not the ones the quote committed to"]
    by_id = {entry["item_id"]: entry for entry in definitions}
    problems = []
    for n, item in enumerate(delivered):
        promised = by_id.get(item.get("item_id"))
        fields = ("name", "nft_id", "rarity", "fmv", "metadata", "image_url")
        if promised is None or any(item.get(k) != promised.get(k) for k in fields):
            problems.append(f"delivered item {n} ({item.get('item_id')}) is not the committed definition")
    if [d.get("item_id") for d in delivered] != [i["item_id"] for i in proof["items"]]:
        problems.append("the delivered items are not the drawn items")
    return problems


def _check_inclusion(proof: dict[str, Any]) -> list[str]:
    """v2: the proof's leaf, walked up its inclusion path, gives its sealed hour's root (FAIRNESS.md section 9).
    Comparing that root with the one the API publishes for the hour is the caller's part (verify-opening --api)."""
    inclusion = proof.get("inclusion")
    if not inclusion:
        return []
    from packvault.fairness.records import leaf, proof_hash, root_from_path

    expected = leaf(proof["opening_id"], proof.get("pack_id", ""), proof.get("opened_at", ""), proof_hash(proof))
    if expected != inclusion.get("leaf"):
        return ["the proof does not hash to its leaf in the public record: it was changed after it was recorded"]
    if root_from_path(expected, inclusion.get("path", []), int(inclusion.get("tree") or 1)) != inclusion.get("root"):
        return ["the inclusion path does not lead to the sealed root"]
    return []
