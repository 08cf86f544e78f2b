"""docs/FAIRNESS.md's test vectors, checked against the code and against an independent implementation
written from the document's text alone (it imports nothing from packvault)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening
from packvault.fairness.primitives import canonical_hash, commitment, random_below
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "FAIRNESS.md").read_text(encoding="utf-8")
VECTORS = json.loads(re.search(r"```json\n(.*?)\n```", DOC, re.S).group(1))


# --- an independent implementation of docs/FAIRNESS.md -------------------------------------------------

def spec_canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def spec_random_below(seed: bytes, context: list, n: int) -> tuple[int, int]:
    limit = 2**256 - (2**256 % n)
    k = 0
    while True:
        x = int.from_bytes(hmac.new(seed, spec_canonical(["packvault-draw-v1", *context, k]), hashlib.sha256).digest(),
                           "big")
        if x < limit:
            return x % n, k
        k += 1


def spec_first_over(entries: list[tuple[str, int]], r: int) -> str:
    running = 0
    for key, weight in entries:
        running += weight
        if running > r:
            return key
    raise AssertionError("r out of range")


def spec_draw(v: dict) -> list[dict]:
    table, seed = v["odds_table"], bytes.fromhex(v["server_seed"])
    remaining = dict(v["stock"])
    out, d = [], 0
    for slot in table["slots"]:
        for _ in range(slot["count"]):
            def drawable(item):
                return item["weight"] > 0 and remaining.get(item["item_id"], 1) > 0
            tiers = [(t, ppm) for t, ppm in slot["tiers"]
                     if ppm > 0 and any(i["tier_id"] == t and drawable(i) for i in table["items"])]
            ctx = [v["opening_id"], v["client_seed"], v["round"], d]
            r, _ = spec_random_below(seed, [*ctx, "tier"], sum(p for _, p in tiers))
            tier = spec_first_over(tiers, r)
            items = [(i["item_id"], i["weight"]) for i in table["items"] if i["tier_id"] == tier and drawable(i)]
            r, _ = spec_random_below(seed, [*ctx, "item"], sum(w for _, w in items))
            item = spec_first_over(items, r)
            out.append({"tier_id": tier, "item_id": item})
            if item in remaining:
                remaining[item] -= 1
            d += 1
    return out


# --- the checks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS["random_below"], ids=lambda v: v["bound"][:12])
def test_random_below_vectors(vector):
    seed, bound = bytes.fromhex(vector["server_seed"]), int(vector["bound"])
    assert spec_canonical(["packvault-draw-v1", *vector["context"], 0]).decode() == vector["message_for_attempt_0"]
    assert spec_random_below(seed, vector["context"], bound) == (int(vector["value"]), vector["accepted_attempt"])
    assert random_below(seed, vector["context"], bound) == int(vector["value"])


def test_a_vector_exercises_the_rejection_step():
    assert any(v["accepted_attempt"] > 0 for v in VECTORS["random_below"])


@pytest.mark.parametrize("vector", VECTORS["openings"], ids=lambda v: v["name"])
def test_opening_vectors(vector):
    assert commitment(vector["server_seed"]) == vector["server_seed_hash"]
    assert canonical_hash(vector["odds_table"]) == vector["odds_hash"]
    assert spec_draw(vector) == vector["items"]
    inputs = DrawInputs(vector["server_seed"], vector["client_seed"], vector["opening_id"], vector["round"])
    drawn = draw_opening(OddsTable.from_document(vector["odds_table"]), inputs, vector["stock"])
    assert [{"tier_id": d.tier_id, "item_id": d.item_id} for d in drawn] == vector["items"]


# --- version 2 (section 10), against the code and an implementation from the text -----------------------

V2 = json.loads(re.search(r"## 10\. Version 2 test vectors.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def spec_merkle_root(leaves: list[str]) -> str:
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [bytes.fromhex(x) for x in leaves]
    while len(level) > 1:
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0].hex()


def spec_walk(leaf: str, path: list[dict]) -> str:
    node = bytes.fromhex(leaf)
    for step in path:
        other = bytes.fromhex(step["hash"])
        node = hashlib.sha256(other + node if step["side"] == "left" else node + other).digest()
    return node.hex()


@pytest.mark.parametrize("vector", V2["client_seeds"], ids=lambda v: v["client_seed"][:12])
def test_v2_client_seed_vectors(vector):
    from packvault.fairness.primitives import effective_client_seed

    parts = [vector["payment_id"], vector["quote_seed"], vector["confirm_seed"]]
    assert ":".join(p for p in parts if p) == vector["client_seed"]
    assert effective_client_seed(*parts) == vector["client_seed"]


def test_v2_item_definitions_vector_with_non_ascii_and_escapes():
    from packvault.catalog import item_definitions

    vector = V2["item_definitions"]
    assert spec_canonical(vector["definitions"]).decode("utf-8") == vector["canonical_json"]
    text = vector["canonical_json"]
    assert "🐉" in text and '\\"hi\\"' in text and "\\n" in text  # kept as is; only quotes and controls escaped
    assert hashlib.sha256(vector["canonical_json"].encode("utf-8")).hexdigest() == vector["items_hash"]
    assert item_definitions.items_hash(vector["definitions"]) == vector["items_hash"]


def test_v2_quote_signature_vector():
    import base58
    from nacl.signing import SigningKey, VerifyKey

    from packvault.fairness import quote_signing

    vector = V2["quote_signature"]
    assert spec_canonical(vector["commitment"]).decode("utf-8") == vector["canonical_json"]
    assert hashlib.sha256(vector["canonical_json"].encode()).hexdigest() == vector["quote_hash"]
    key = SigningKey(bytes.fromhex(vector["signing_seed"]))
    assert base58.b58encode(bytes(key.verify_key)).decode() == vector["quote_key"]
    signature = key.sign(vector["canonical_json"].encode()).signature  # Ed25519 is deterministic
    assert base58.b58encode(signature).decode() == vector["quote_signature"]
    VerifyKey(base58.b58decode(vector["quote_key"])).verify(vector["canonical_json"].encode(),
                                                            base58.b58decode(vector["quote_signature"]))
    assert vector["memo"] == f"packvault:{vector['commitment']['opening_id']}:{vector['quote_hash']}"
    assert quote_signing.verify(vector["commitment"], vector["quote_signature"], vector["quote_key"])


def test_v2_merkle_vectors():
    from packvault.fairness import records

    vector = V2["merkle"]
    assert spec_merkle_root(vector["leaves"]) == records.merkle_root(vector["leaves"]) == vector["root"]
    for index, path in vector["paths"].items():
        assert spec_walk(vector["leaves"][int(index)], path) == vector["root"]
        assert records.inclusion_path(vector["leaves"], int(index)) == path
    assert spec_merkle_root([]) == vector["empty_root"]
    example = vector["leaf_example"]
    inputs = {k: example[k] for k in ("opening_id", "pack_id", "opened_at", "proof_hash")}
    assert hashlib.sha256(spec_canonical(inputs)).hexdigest() == example["leaf"]


def test_v2_stock_chain_vector():
    from packvault.fairness import stock_chain

    vector = V2["stock_chain"]
    prev = "0" * 64
    for seq, link in enumerate(vector["links"], start=1):  # from the text: each link hashes its fields, names the last
        body = {k: link[k] for k in ("pack_id", "seq", "prev", "stock_totals", "supply_total", "at")}
        assert link["seq"] == seq and link["prev"] == prev and hashlib.sha256(spec_canonical(body)).hexdigest() == \
            link["hash"]
        prev = link["hash"]
    assert stock_chain.verify(vector["pack_id"], vector["links"]) == []
    assert vector["links"][1] == stock_chain.link(vector["pack_id"], 2, vector["links"][0]["hash"],
                                                  vector["links"][1]["stock_totals"], 500, vector["links"][1]["at"])


@pytest.mark.parametrize("vector", V2["openings_v2"], ids=lambda v: v["name"][:40])
def test_v2_opening_vectors_with_an_abandoned_round(vector):
    from packvault.fairness.proof import check_proof

    assert spec_draw(vector) == vector["items"]
    for abandoned in vector["abandoned_rounds"]:
        drawn = spec_draw({**vector, "round": abandoned["round"], "stock": abandoned["stock"]})
        assert drawn == abandoned["items"]
        assert set(abandoned["short"]) <= {d["item_id"] for d in drawn}
    assert [r["round"] for r in vector["abandoned_rounds"]] == list(range(vector["round"]))
    assert "mid" not in {d["tier_id"] for d in vector["items"]}  # a tier with nothing drawable is dropped
    proof = {k: v for k, v in vector.items() if k != "name"}
    assert check_proof(proof).verdict == "match"


BUNDLES = json.loads(re.search(r"## 12\. Bulk opening: bundles.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def spec_uuid5(namespace: str, name: str) -> str:
    """RFC 9562 UUIDv5 as section 12 states it, without the uuid module."""
    named = bytes.fromhex(namespace.replace("-", "")) + name.encode()
    digest = bytearray(hashlib.sha1(named).digest()[:16])  # noqa: S324 - RFC 9562 names SHA-1 for UUIDv5
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def test_bundle_unit_ids_follow_from_the_bundle_id_by_the_text_and_by_the_code():
    from packvault.fairness.primitives import unit_opening_id

    bundle_id = BUNDLES["bundle_id"]
    from_text = [bundle_id] + [spec_uuid5(BUNDLES["namespace"], f"{bundle_id}/{n}") for n in (1, 2)]
    assert from_text == BUNDLES["unit_ids"] == [unit_opening_id(bundle_id, n) for n in range(3)]


@pytest.mark.parametrize("vector", BUNDLES["openings"], ids=lambda v: v["name"])
def test_bundle_unit_vectors_recompute_and_a_moved_unit_is_refused(vector):
    from packvault.fairness.proof import check_proof

    assert spec_draw(vector) == vector["items"]
    bundle = vector["bundle"]
    assert vector["opening_id"] == BUNDLES["unit_ids"][bundle["index"]]
    assert bundle["server_seed_hashes"][bundle["index"]] == vector["server_seed_hash"]
    proof = {k: v for k, v in vector.items() if k != "name"}
    assert check_proof(proof).verdict == "match"
    moved = {**proof, "bundle": {**bundle, "index": (bundle["index"] + 1) % bundle["quantity"]}}
    assert check_proof(moved).verdict == "mismatch"  # another unit's place: wrong id and wrong seed hash


V3 = json.loads(re.search(r"### 13\.9 Version 3 test vectors.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def spec_client_seed_v3(entropy: str, purchase_seed: str | None) -> str:
    """Section 13.2 from the text: the canonical JSON (section 2) of [entropy, purchase seed or null], as text."""
    return spec_canonical([entropy, purchase_seed]).decode("utf-8")


@pytest.mark.parametrize("vector", V3["client_seeds"], ids=lambda v: v["client_seed"][:16])
def test_v3_client_seed_vectors_by_the_text_and_by_the_code(vector):
    from packvault.fairness.primitives import client_seed_v3
    from packvault.fairness.proof import client_seed_parts

    assert spec_client_seed_v3(vector["entropy"], vector["quote_seed"]) == vector["client_seed"]
    assert client_seed_v3(vector["entropy"], vector["quote_seed"]) == vector["client_seed"]
    assert client_seed_parts(vector["client_seed"]) == (vector["entropy"], vector["quote_seed"])


def test_v3_client_seeds_are_injective_where_v2_collided():
    from packvault.fairness.primitives import effective_client_seed

    first, second = V3["client_seeds"][2], V3["client_seeds"][3]
    assert effective_client_seed(first["entropy"], first["quote_seed"], None) == \
        effective_client_seed(second["entropy"], second["quote_seed"], None)  # v2: "a:b:c" both times
    assert first["client_seed"] != second["client_seed"]


def test_v3_signed_commitment_vector():
    import base58
    from nacl.signing import SigningKey

    from packvault.fairness import quote_signing

    vector = V3["signed_commitment"]
    document = vector["commitment"]
    assert document["version"] == 3 and {"rail", "entropy", "quoted_at", "items_hash"} <= set(document)
    assert spec_canonical(document).decode("utf-8") == vector["canonical_json"]
    assert hashlib.sha256(vector["canonical_json"].encode()).hexdigest() == vector["quote_hash"]
    key = SigningKey(bytes.fromhex(vector["signing_seed"]))  # 64 hex characters: the 32-byte seed
    assert base58.b58encode(bytes(key.verify_key)).decode() == vector["quote_key"]
    assert base58.b58encode(key.sign(vector["canonical_json"].encode()).signature).decode() == vector["quote_signature"]
    assert quote_signing.verify(document, vector["quote_signature"], vector["quote_key"])
    assert vector["memo"] == f"packvault:{document['opening_id']}:{vector['quote_hash']}"


def test_v3_commitment_document_is_what_the_code_commits_to():
    from types import SimpleNamespace

    from packvault.fairness.quote_signing import commitment

    document = V3["signed_commitment"]["commitment"]
    record = SimpleNamespace(**{k: v for k, v in document.items() if k not in {"version", "entropy", "quoted_at"}},
                             fairness_version=3, created_at=document["quoted_at"], quantity=None)
    assert commitment(record) == document


@pytest.mark.parametrize("vector", V3["openings_v3"], ids=lambda v: v["name"][:40])
def test_v3_opening_vectors_and_a_changed_seed_or_commitment_is_refused(vector):
    from packvault.fairness.proof import check_proof

    entropy, purchase_seed = json.loads(vector["client_seed"])
    assert vector["client_seed"] == spec_client_seed_v3(entropy, purchase_seed)
    assert entropy == vector["entropy"]["value"]
    signed = vector["commitment"]
    assert hashlib.sha256(spec_canonical(signed["commitment"])).hexdigest() == signed["quote_hash"]
    assert signed["commitment"]["client_seed"] == purchase_seed
    assert spec_draw(vector) == vector["items"]
    proof = {k: v for k, v in vector.items() if k != "name"}
    result = check_proof(proof)
    assert result.verdict == "match" and result.warnings == []
    v2_seed = {**proof, "client_seed": f"{entropy}:{purchase_seed}"}
    assert check_proof(v2_seed).verdict == "mismatch"
    resigned = {**proof, "commitment": {**signed, "commitment": {**signed["commitment"], "client_seed": "other"}}}
    assert "the commitment does not hash to its quote_hash" in check_proof(resigned).problems


def test_v3_record_receipt_vector_by_the_text_and_by_the_code():
    import base58
    from nacl.signing import VerifyKey

    from packvault.fairness.proof import check_receipt

    receipt, opening = V3["record_receipt"], V3["openings_v3"][0]
    hashed = {k: v for k, v in opening.items() if k not in {"name", "odds_table", "item_definitions", "delivered",
                                                             "inclusion", "opened_at", "pack_id", "commitment"}}
    proof_hash = hashlib.sha256(spec_canonical(hashed)).hexdigest()  # section 9, the commitment left out (13.3)
    leaf = hashlib.sha256(spec_canonical({"opening_id": opening["opening_id"], "pack_id": opening["pack_id"],
                                          "opened_at": opening["opened_at"], "proof_hash": proof_hash})).hexdigest()
    assert receipt["leaf"] == leaf and receipt["period"] == opening["opened_at"][:13]
    document = {k: v for k, v in receipt.items() if k not in {"signature", "key"}}
    VerifyKey(base58.b58decode(receipt["key"])).verify(spec_canonical(document), base58.b58decode(receipt["signature"]))
    assert receipt["key"] == V3["signed_commitment"]["quote_key"]
    proof = {k: v for k, v in opening.items() if k != "name"}
    assert check_receipt(proof, receipt, receipt["key"]) == []
    assert check_receipt({**proof, "opened_at": "2026-12-04T10:01:00.000Z"}, receipt) != []  # moved an hour back


def test_v3_chained_seal_vectors_by_the_text_and_by_the_code():
    from packvault.fairness import anchoring, records

    first, second = V3["chained_seals"]
    assert first["root"] == spec_merkle_root(V2["merkle"]["leaves"])
    assert second["root"] == hashlib.sha256(b"").hexdigest() and second["count"] == 0  # an empty hour
    assert first["prev_period"] is None and first["prev"] == "0" * 64
    for sealed in (first, second):
        hashed = {k: sealed[k] for k in ("period", "root", "count", "prev_period", "prev", "quote_key")}
        assert hashlib.sha256(spec_canonical(hashed)).hexdigest() == sealed["chain_hash"]
        assert records.chain_hash(**hashed) == sealed["chain_hash"]
    assert second["prev_period"] == first["period"] and second["prev"] == first["chain_hash"]
    assert anchoring.memo_text(second["period"], second["root"], second["chain_hash"]) == second["anchor_memo"]
    assert first["quote_key"] == V3["signed_commitment"]["quote_key"] and second["quote_key"] is None  # then unsigned


STOCK = json.loads(re.search(r"### 13\.10 Stock accounting.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def spec_next_left(before: dict | None, link: dict) -> dict:
    """13.10's rules, from the text: what a link's `left` must be after the link before it."""
    if link["kind"] == "opening":
        return {k: v - link["taken"].get(k, 0) for k, v in before["left"].items()}
    if before is None:
        return dict(link["stock_totals"])
    return {k: before["left"][k] + total - before["stock_totals"][k] if k in before["stock_totals"] else total
            for k, total in link["stock_totals"].items()}


def spec_stock(link: dict, committed: dict | None) -> dict:
    return {k: max(0, committed[k] - (link["stock_totals"][k] - left)) if committed and k in committed else left
            for k, left in link["left"].items()}


def test_v3_stock_chain_vector_by_the_text_and_by_the_code():
    from packvault.fairness import stock_chain

    chain, prev, before = STOCK["stock_chain"], "0" * 64, None
    for seq, link in enumerate(chain["links"], start=1):
        body = {k: v for k, v in link.items() if k != "hash"}
        assert link["seq"] == seq and link["prev"] == prev
        assert hashlib.sha256(spec_canonical(body)).hexdigest() == link["hash"]
        assert link["left"] == spec_next_left(before, link)
        prev, before = link["hash"], link
    assert stock_chain.verify(chain["pack_id"], chain["links"]) == []
    first, taken, raised = chain["links"]
    assert stock_chain.load_link(None, "vector-pack", first["stock_totals"], 20, first["at"]) == first
    state = stock_chain.state_of(first)
    assert stock_chain.opening_link(state, "vector-pack", taken["opening_id"], taken["taken"], taken["at"]) == taken
    assert stock_chain.load_link(stock_chain.state_of(taken), "vector-pack", raised["stock_totals"], 20,
                                 raised["at"]) == raised


@pytest.mark.parametrize("vector", STOCK["draws"], ids=lambda v: str(v["stock_committed"]))
def test_v3_stock_a_draw_uses_is_the_named_links_by_the_text_and_by_the_code(vector):
    from packvault.fairness import stock_chain

    link = STOCK["stock_chain"]["links"][vector["stock_link"]["seq"] - 1]
    assert link["hash"] == vector["stock_link"]["hash"]
    assert spec_stock(link, vector["stock_committed"]) == vector["stock"]
    assert stock_chain.derived_stock(stock_chain.state_of(link), vector["stock_committed"]) == vector["stock"]


def test_v3_a_count_changed_outside_the_chain_breaks_it():
    from packvault.fairness import stock_chain

    links = json.loads(json.dumps(STOCK["stock_chain"]["links"]))
    links[1]["left"]["crown"] = 0  # the opening "took" two crowns but says one
    body = {k: v for k, v in links[1].items() if k != "hash"}
    links[1]["hash"] = hashlib.sha256(spec_canonical(body)).hexdigest()
    links[2]["prev"] = links[1]["hash"]
    links[2]["hash"] = hashlib.sha256(spec_canonical({k: v for k, v in links[2].items() if k != "hash"})).hexdigest()
    problems = stock_chain.verify("vector-pack", links)
    assert any("link 2: its units left" in p for p in problems) and any("link 3: its units left" in p for p in problems)


ENDING = json.loads(re.search(r"### 13\.11 Quotes that end without opening.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def test_v3_ending_leaf_vector_by_the_text_and_by_the_code():
    from packvault.fairness import records

    document = ENDING["ending"]
    assert hashlib.sha256(spec_canonical(document)).hexdigest() == ENDING["ending_hash"]
    fields = {"opening_id": document["opening_id"], "pack_id": document["pack_id"], "ended_at": document["ended_at"],
              "outcome": document["outcome"], "ending_hash": ENDING["ending_hash"]}
    assert hashlib.sha256(spec_canonical(fields)).hexdigest() == ENDING["leaf"] == records.ending_leaf(document)
    assert hashlib.sha256(bytes.fromhex(document["server_seed"])).hexdigest() == document["server_seed_hash"]
    as_opening = records.leaf(document["opening_id"], document["pack_id"], document["ended_at"], ENDING["ending_hash"])
    assert as_opening != ENDING["leaf"]  # an ending cannot pass for an opening leaf


TREE2 = json.loads(re.search(r"### 13\.12 Merkle tree 2.*?```json\n(.*?)\n```", DOC, re.S).group(1))


def spec_tree2_root(leaves: list[str]) -> str:
    """13.12 from the text: bottom = sha256(0x00 || leaf), node = sha256(0x01 || l || r), a lone node moves up."""
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(leaf)).digest() for leaf in leaves]
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0].hex() if level else hashlib.sha256(b"").hexdigest()


def test_v3_tree_2_vector_by_the_text_and_by_the_code():
    from packvault.fairness import records

    leaves = TREE2["leaves"]
    assert spec_tree2_root(leaves) == records.merkle_root(leaves, 2) == TREE2["root"]
    assert spec_merkle_root(leaves) == records.merkle_root(leaves, 1) == TREE2["tree_1_root"] != TREE2["root"]
    for index, path in TREE2["paths"].items():
        assert records.inclusion_path(leaves, int(index), 2) == path
        assert records.root_from_path(leaves[int(index)], path, 2) == TREE2["root"]
        assert records.root_from_path(leaves[int(index)], path, 1) != TREE2["root"]  # walked as tree 1: refused
    sealed = TREE2["sealed"]
    fields = {k: sealed[k] for k in ("period", "root", "count", "prev_period", "prev", "quote_key", "tree")}
    assert hashlib.sha256(spec_canonical(fields)).hexdigest() == sealed["chain_hash"] == records.chain_hash(
        sealed["period"], sealed["root"], sealed["count"], sealed["prev_period"], sealed["prev"], None, 2)
