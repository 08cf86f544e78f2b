"""The `packvault` command-line tool (also `python -m packvault_tools`). It reads the same environment
variables as the functions (TABLE_NAME, DYNAMODB_ENDPOINT, AWS_REGION, STAGE) and uses the same modules.

Without TABLE_NAME it acts on the local stack that `make run` started (its .local-stack/stack-<port>.json;
PACKVAULT_PORT picks one of several), so the README's operator commands work against it as written. Failures are
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from packvault.core import context
from packvault.core.settings import ConfigurationError
from packvault_tools import devstack


def _catalog_load(args: argparse.Namespace) -> int:
    from packvault.catalog.loader import CatalogError, load_catalog_file
    from packvault.edge.runtime import configure

    try:
        configure()
        # the whole file is checked before anything is written
        packs, bundles, topups, entitlements = load_catalog_file(args.file)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for result in packs:
        print(json.dumps({"pack_id": result.pack_id, "action": result.action, "odds_version": result.odds_version}))
    for result in bundles:
        print(json.dumps({"bundle_id": result.pack_id, "action": result.action}))
    for result in topups:
        print(json.dumps({"topup_item_id": result.pack_id, "action": result.action}))
    for result in entitlements:
        print(json.dumps({"entitlement_id": result.pack_id, "action": result.action}))
    return 0


def _catalog_validate(args: argparse.Namespace) -> int:
    from packvault.catalog.loader import (
        CatalogError,
        parse_bundles,
        parse_topups,
        read_catalog_document,
        read_catalog_file,
    )

    try:
        packs = read_catalog_file(args.file)
        bundles = parse_bundles(read_catalog_document(args.file))
        topups = parse_topups(read_catalog_document(args.file))
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps({"valid": True, "packs": [p.pack_id for p in packs], "bundles": [b.bundle_id for b in bundles],
                      "topup_items": [t.item_id for t in topups]}))
    return 0


def _catalog_schema(_: argparse.Namespace) -> int:
    from packvault.catalog.loader import schema

    print(json.dumps(schema(), indent=2))
    return 0


def _verify_opening(args: argparse.Namespace) -> int:
    from packvault.fairness.proof import check_proof

    try:
        proof = _proof_from_api(args) if args.api else _proof_from_file(args.proof)
    except _NeverOpened as ended:
        return _verify_ending(args, ended.record)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"packvault: {exc}", file=sys.stderr)
        return 2
    result = check_proof(proof)
    verdict, problems = result.verdict, list(result.problems)
    extra = _check_quote(args, proof) if args.quote else []
    extra += _check_vault(args.vault, proof) if getattr(args, "vault", None) else []
    receipt = _receipt_from_file(args.receipt) if getattr(args, "receipt", None) else None
    extra += _check_receipt(args, proof, receipt) if receipt is not None else []
    extra += _check_record(args, proof) if args.api and proof.get("inclusion") else []
    unrecorded = _check_missing_leaf(args, proof, receipt) if args.api and not proof.get("inclusion") else None
    extra += [unrecorded] if unrecorded and unrecorded != "unsealed" else []
    extra += _check_stock_chain(args, proof) if args.api and proof.get("stock_committed") is not None else []
    extra += _check_commitment_key(args, proof) if args.api and proof.get("commitment") else []
    if getattr(args, "solana_rpc", None) and (proof.get("entropy") or {}).get("source") == \
            "solana_transaction_signature":
        extra += _check_commitment_on_chain(args.solana_rpc, proof)
    if extra:
        problems += extra
        verdict = "mismatch" if verdict != "incomplete" else verdict
    elif unrecorded == "unsealed" and verdict == "match":  # a definite problem above outweighs this
        verdict = "incomplete"
        problems.append("its hour of the public record is not sealed yet: check again once it is (a few minutes "
                        "after the hour ends)")
    print(json.dumps({"verdict": verdict, "opening_id": proof.get("opening_id"), "problems": problems,
                      "warnings": result.warnings, "recomputed_items": result.expected_items}, indent=2))
    return {"match": 0, "mismatch": 1}.get(verdict, 2)


def _check_commitment_key(args: argparse.Namespace, proof: dict) -> list[str]:
    """The key that signed the proof's commitment is one the API publishes for quote signing (FAIRNESS.md 13.3)."""
    from packvault_tools.client import PackvaultClient

    key = proof["commitment"].get("quote_key")
    if not key:
        return []
    quoted_at = str(proof["commitment"].get("commitment", {}).get("quoted_at") or "")
    in_force = _keys_in_force(PackvaultClient(args.api), quoted_at[:13]) if quoted_at else set()
    if in_force:  # what the chain of seals says was in force around the quote (FAIRNESS.md 13.7)
        return [] if key in in_force else [f"the commitment is signed with a key the records of {quoted_at[:13]} "
                                           "and the hour before do not name"]
    return [] if key == _published_key(args.api) else ["the commitment is signed with a key the API does not publish"]


def _keys_in_force(client: Any, period: str) -> set[str]:
    """The quote keys the chained records of `period` and of the hour before name: the key in force when the hour
    began (the hour before is sealed a few minutes into it) and when it ended (FAIRNESS.md 13.7)."""
    from packvault_tools.client import ApiError

    keys = set()
    for hour in (_hour_after(period, -1), period):
        try:
            sealed = client.request("GET", f"/api/v1/fairness/records/{hour}")
        except ApiError:
            continue
        if sealed.get("chain_hash") and sealed.get("quote_key"):
            keys.add(sealed["quote_key"])
    return keys


def _check_stock_chain(args: argparse.Namespace, proof: dict) -> list[str]:
    """The pack's stock history chain is intact, the stock the quote committed to is one of its states (an
    operator cannot commit a quote to stock that was never on the record), and the stock the draw used is the one
    the chain's count gives at the link the proof names."""
    from packvault.fairness import stock_chain
    from packvault_tools.client import PackvaultClient

    pack_id = proof.get("pack_id")
    if not pack_id:
        return []
    chain = PackvaultClient(args.api).request("GET", f"/api/v1/packs/{pack_id}/stock-chain")
    problems = [f"stock chain: {problem}" for problem in stock_chain.verify(pack_id, chain["links"])]
    problems += stock_chain.proof_problems(proof, chain["links"])  # the draw's stock recounted (FAIRNESS.md 13.10)
    problems += _check_stock_head_sealed(args, proof, chain["links"])
    committed = {k: int(v) for k, v in proof["stock_committed"].items()}
    if chain["links"] and all(link["stock_totals"] != committed for link in chain["links"]):
        problems.append("the stock the quote committed to is not a state of the pack's stock history chain")
        return problems
    moment = _committed_at(proof)  # v3 and balance openings say when they committed: the state in force then
    in_force = stock_chain.totals_in_force(chain["links"], moment) if moment and chain["links"] else []
    if in_force and committed not in in_force:
        problems.append(f"the stock committed to is not the state of the pack's stock history chain at {moment}")
    return problems


def _check_stock_head_sealed(args: argparse.Namespace, proof: dict, links: list[dict]) -> list[str]:
    """The seal of the opening's hour names the pack's stock chain head as it was then (FAIRNESS.md 13.10): the chain
    must still have that link, and it must come at or after the link the proof names. Nothing to check while the
    hour is unsealed, or for an hour sealed before seals named heads."""
    from packvault_tools.client import ApiError, PackvaultClient

    if not proof.get("stock_link") or not proof.get("opened_at"):
        return []
    period = str(proof["opened_at"])[:13]
    try:
        sealed = PackvaultClient(args.api).request("GET", f"/api/v1/fairness/records/{period}")
    except ApiError:
        return []
    head = (sealed.get("stock_heads") or {}).get(proof.get("pack_id"))
    if head is None:
        return []
    found = next((link for link in links if int(link["seq"]) == int(head["seq"])), None)
    if found is None or found["hash"] != head["hash"]:
        return [f"the stock chain was rewritten after {period} was sealed: its seal names link {head['seq']} "
                f"{head['hash'][:12]}…, which the chain no longer has"]
    if int(head["seq"]) < int(proof["stock_link"]["seq"]):
        return [f"the link the proof names ({proof['stock_link']['seq']}) came after the seal of {period} "
                f"(which names link {head['seq']}): the opening was moved into that hour"]
    return []


def _committed_at(proof: dict) -> str | None:
    """When the proof's stock was committed: a v3 quote's `quoted_at` (FAIRNESS.md 13.3), a balance opening's seed
    pair's creation (`stock_committed_at`, section 8)."""
    document = (proof.get("commitment") or {}).get("commitment") or {}
    return document.get("quoted_at") or proof.get("stock_committed_at")


def _check_missing_leaf(args: argparse.Namespace, proof: dict, receipt: dict | None = None) -> str | None:
    """A version 2 proof without `inclusion`: its hour unsealed ("unsealed": the verdict is incomplete), or sealed
    without its leaf (a problem: the opening was left out of, or moved from, the public record). FAIRNESS.md 9. The
    hour is the one the buyer's record receipt names, when given (a back-dated proof names another)."""
    from packvault_tools.client import ApiError, PackvaultClient

    if int(proof.get("version") or 1) < 2 or not proof.get("opened_at"):
        return None
    period = str(receipt["period"]) if receipt and receipt.get("period") else str(proof["opened_at"])[:13]
    try:
        published = PackvaultClient(args.api).request("GET", f"/api/v1/fairness/records/{period}")
    except ApiError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        if (body.get("error") or {}).get("code") == "RECORD_NOT_SEALED":
            return "unsealed"
        raise
    return f"the record of {period} is sealed ({published['count']} leaves) without this opening's leaf"


def _check_record(args: argparse.Namespace, proof: dict) -> list[str]:
    """The root the proof's inclusion path leads to must be the root the API publishes for that hour."""
    from packvault_tools.client import PackvaultClient

    inclusion = proof["inclusion"]
    published = PackvaultClient(args.api).request("GET", f"/api/v1/fairness/records/{inclusion['period']}")
    if published["root"] != inclusion["root"]:
        return [f"the record of {inclusion['period']} is sealed under another root than this proof's path reaches"]
    if int(published.get("tree") or 1) != int(inclusion.get("tree") or 1):
        return [f"the record of {inclusion['period']} is sealed with another Merkle tree than this proof's path says"]
    from packvault.fairness.records import order_problems

    problems = _check_chain(PackvaultClient(args.api), published) + order_problems(published)
    entry = next((e for e in published.get("entries") or [] if e["opening_id"] == proof.get("opening_id")
                  and not e.get("ended")), None)
    if published.get("entries") is not None and proof.get("opened_at") and (
            entry is None or entry["at"] != proof["opened_at"]):
        problems.append(f"the record of {inclusion['period']} does not list this opening at its opened_at")
    anchor = published.get("anchor")
    if anchor and getattr(args, "solana_rpc", None):  # the root on chain, where nobody can rewrite it
        from packvault.chain.rpc import SolanaRpc
        from packvault.fairness.anchoring import check_anchor

        problems += check_anchor(SolanaRpc([args.solana_rpc]), anchor["signature"], inclusion["period"],
                                 published["root"], published.get("chain_hash"))
    return problems


def _check_chain(client: Any, published: dict) -> list[str]:
    """A chained hour (FAIRNESS.md 13.7): its chain hash recomputes, it sits on the hour just before it (whose own
    chain hash it names), and the hour after it, once sealed, names it in turn. A re-sealed or dropped hour breaks
    one of these."""
    from packvault.fairness.records import chain_hash
    from packvault_tools.client import ApiError

    if not published.get("chain_hash"):
        return []  # sealed before hours were chained
    period, prev_period = published["period"], published.get("prev_period")
    problems = []
    if chain_hash(period, published["root"], published["count"], prev_period, published["prev"],
                  published.get("quote_key"), published.get("tree"), published.get("stock_heads")) \
            != published["chain_hash"]:
        problems.append(f"the record of {period} does not hash to its chain hash")
    if prev_period is not None:
        if prev_period != _hour_after(period, -1):
            problems.append(f"the record of {period} sits on {prev_period}, not on the hour before it: hours were "
                            "left out of the chain")
        before = client.request("GET", f"/api/v1/fairness/records/{prev_period}")
        if before.get("chain_hash") != published["prev"]:
            problems.append(f"the record of {prev_period} is not the one {period} was sealed on: it was sealed again")
    try:
        after = client.request("GET", f"/api/v1/fairness/records/{_hour_after(period, 1)}")
    except ApiError:
        return problems  # the next hour is not sealed yet
    if after.get("prev") != published["chain_hash"]:
        problems.append(f"the hour after {period} was sealed on another record of {period}: it was sealed again")
    return problems


def _check_quote(args: argparse.Namespace, proof: dict) -> list[str]:
    """--quote FILE: the buyer's saved purchase answer, checked against the proof (and the API's published key)."""
    from packvault.fairness.proof import check_against_quote

    with open(args.quote, encoding="utf-8") as file:
        quote = json.load(file)
    problems = check_against_quote(proof, quote, _published_key(args.api))
    # Only a Solana quote (its answer names rail "solana") was paid on chain: a card or Open Payments checkout's
    # answer carries no rail, and its payment id (pi_..., a payment URL) is not a transaction to look for.
    if getattr(args, "solana_rpc", None) and quote.get("quote_hash") and quote.get("rail") == "solana":
        problems += _check_payment_memo(args.solana_rpc, proof, quote["quote_hash"])
    return problems


def _published_key(api: str | None) -> str | None:
    """The quote-signing key the API publishes now (GET /api/v1/fairness/quote-key); None without --api."""
    from packvault_tools.client import PackvaultClient

    return PackvaultClient(api).request("GET", "/api/v1/fairness/quote-key")["public_key"] if api else None


def _hour_after(period: str, hours: int) -> str:
    """The record's hour `hours` after `period` (both "YYYY-MM-DDTHH", UTC)."""
    from datetime import datetime, timedelta

    return (datetime.strptime(period, "%Y-%m-%dT%H") + timedelta(hours=hours)).strftime("%Y-%m-%dT%H")


def _receipt_from_file(path: str) -> dict:
    """--receipt FILE: the record receipt the open answer carried (the whole open answer will do)."""
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    return document.get("record_receipt") or document


def _check_receipt(args: argparse.Namespace, proof: dict, receipt: dict) -> list[str]:
    from packvault.fairness.proof import check_receipt

    problems = check_receipt(proof, receipt, _published_key(args.api))
    inclusion = proof.get("inclusion")
    if inclusion and inclusion.get("leaf") != receipt.get("leaf"):
        problems.append("the record holds another leaf for this opening than the one on your receipt")
    return problems


def _check_vault(path: str, proof: dict) -> list[str]:
    from packvault.fairness.proof import check_vault

    with open(path, encoding="utf-8") as file:
        return check_vault(proof, json.load(file).get("items") or [])


def _check_payment_memo(rpc_url: str, proof: dict, quote_hash: str) -> list[str]:
    """The payment on chain carries the memo `packvault:<opening_id>:<quote_hash>`: the commitment existed before
    the buyer paid, and the chain, not the operator, keeps it. The payment's id opens the client seed (FAIRNESS 1.4)."""
    from packvault.chain.rpc import SolanaRpc
    from packvault.chain.transactions import memos

    signature = _payment_signature(proof)
    result = SolanaRpc([rpc_url]).get_transaction(signature)
    if result is None:
        return [f"the payment {signature} is not on chain"]
    expected = f"packvault:{_quoted_opening_id(proof)}:{quote_hash}"
    return [] if expected in memos(result) else [f"the payment on chain does not carry the memo {expected}"]


def _check_commitment_on_chain(rpc_url: str, proof: dict) -> list[str]:
    """v3 (FAIRNESS.md 13.3), without the buyer's quote: the Solana payment the proof drew with is on chain, and its
    memo names the quote hash of the commitment the proof carries when the proof says so. A payment whose memo names
    this opening under another quote hash shows a commitment rewritten after payment."""
    from packvault.chain.rpc import SolanaRpc
    from packvault.chain.transactions import memos

    signature = _payment_signature(proof)
    result = SolanaRpc([rpc_url]).get_transaction(signature)
    if result is None:
        return [f"the payment {signature} is not on chain"]
    prefix = f"packvault:{_quoted_opening_id(proof)}:"
    named = [memo[len(prefix):] for memo in memos(result) if memo.startswith(prefix)]
    quote_hash = (proof.get("commitment") or {}).get("quote_hash")
    if named and quote_hash not in named:
        return [f"the payment on chain names quote hash {named[0]}, not the hash of the commitment this proof "
                "carries: the commitment was rewritten after the buyer paid"]
    if proof.get("commitment_on_chain") is True and not named:
        return ["the proof says the payment carries its quote hash; the transaction on chain does not"]
    return []


def _payment_signature(proof: dict) -> str:
    """The Solana transaction the draw mixed in: v3 names it as the entropy, v1/v2 start the client seed with it."""
    entropy = proof.get("entropy")
    if isinstance(entropy, dict) and entropy.get("value"):
        return str(entropy["value"])
    return str(proof.get("client_seed", "")).split(":")[0]


def _quoted_opening_id(proof: dict) -> str:
    """The opening the quote (and the payment's memo) named: a bundle unit's bundle, else the opening itself."""
    return str((proof.get("bundle") or {}).get("bundle_id") or proof.get("opening_id"))


def _proof_from_file(path: str) -> dict:
    from packvault.sales.openings import OPENING_ID

    if path != "-" and OPENING_ID.match(path) and not os.path.exists(path):
        raise ValueError(f"{path} looks like an opening id, not a file: add --api <url> to read its public proof "
                         "(e.g. --api http://127.0.0.1:3000)")
    source = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with source:
        document = json.load(source)
    return document.get("fairness", document) if isinstance(document, dict) else {}


def _proof_from_api(args: argparse.Namespace) -> dict:
    """The opening's public proof (GET /api/v1/proofs/{id}: no sign-in; it embeds the odds table)."""
    from packvault_tools.client import ApiError, PackvaultClient

    try:
        record = PackvaultClient(args.api).request("GET", f"/api/v1/proofs/{args.proof}")
    except ApiError as exc:
        raise RuntimeError(f"the API refused: {json.dumps(exc.body)}") from None
    if record.get("proof") is None and record.get("server_seed"):
        raise _NeverOpened(record)
    if record.get("proof") is None:
        raise RuntimeError(f"opening {args.proof} is {record.get('status')}: it was never opened; its server seed is "
                           "still secret")
    return record["proof"]


class _NeverOpened(Exception):
    """The opening ended without opening: its public record is its endings (FAIRNESS.md 13.11)."""

    def __init__(self, record: dict) -> None:
        super().__init__(record.get("opening_id"))
        self.record = record


def _verify_ending(args: argparse.Namespace, record: dict) -> int:
    """A quote that ended without opening: its revealed seed is the one its quote committed to, and each ending
    document names it, recomputes what it would have drawn, and is a leaf of its sealed hour (incomplete while the
    hour is not sealed; a mismatch once it is sealed without it). A version 3 quote must have one."""
    from packvault.fairness.draw import DrawInputs, OddsTable, draw_opening
    from packvault.fairness.primitives import commitment

    problems, waiting = [], []
    if commitment(record["server_seed"]) != record.get("server_seed_hash"):
        problems.append("the revealed server seed does not hash to the server_seed_hash its quote committed to")
    endings = record.get("endings") or []
    if not endings and record.get("commitment"):
        problems.append("a version 3 quote that ended without opening has no ending on the public record")
    for ending in endings:
        if (ending.get("opening_id"), ending.get("server_seed")) != (record["opening_id"], record["server_seed"]):
            problems.append(f"the ending of {ending.get('ended_at')} names another opening or seed")
        drawn = ending.get("would_have_drawn")
        if drawn and record.get("odds_table"):
            again = draw_opening(OddsTable.from_document(record["odds_table"]),
                                 DrawInputs(record["server_seed"], drawn["client_seed"], record["opening_id"], 0), {})
            if [{"tier_id": d.tier_id, "item_id": d.item_id} for d in again] != drawn["items"]:
                problems.append(f"the ending of {ending.get('ended_at')} does not recompute what it would have drawn")
        document = {key: value for key, value in ending.items() if key != "inclusion"}
        found = _ending_on_record(args, document, ending.get("inclusion"))
        (waiting if found == "unsealed" else problems).extend([found] if found else [])
    verdict = "mismatch" if problems else ("incomplete" if waiting else "match")
    print(json.dumps({"verdict": verdict, "opening_id": record["opening_id"], "status": record.get("status"),
                      "problems": problems or (["the hour of an ending is not sealed yet: check again once it is"]
                                               if waiting else []),
                      "warnings": [], "recomputed_items": None}, indent=2))
    return {"match": 0, "mismatch": 1}.get(verdict, 2)


def _ending_on_record(args: argparse.Namespace, document: dict, inclusion: dict | None) -> str | None:
    """None when the ending's leaf is in its sealed hour; "unsealed" while the hour is not sealed; else the problem."""
    from packvault.fairness import records

    leaf = records.ending_leaf(document)
    if inclusion:
        tree = int(inclusion.get("tree") or 1)
        if inclusion.get("leaf") != leaf or records.root_from_path(leaf, inclusion["path"], tree) != inclusion["root"]:
            return f"the ending of {document.get('ended_at')} is not the leaf its inclusion path proves"
        problems = _check_record(args, {"inclusion": inclusion})
        return "; ".join(problems) if problems else None
    missing = _check_missing_leaf(args, {"version": 2, "opened_at": document["ended_at"]})
    return missing if missing == "unsealed" else f"the ending of {document['ended_at']}: {missing}"


def _keygen(args: argparse.Namespace) -> int:
    from packvault_tools.client import Keypair

    keypair = Keypair.generate()
    try:
        keypair.save(args.file)
    except FileExistsError:
        print(f"packvault: {args.file} exists; not overwriting a keypair", file=sys.stderr)
        return 1
    print(json.dumps({"keypair": args.file, "public_key": keypair.public_key}))
    return 0


def _login(args: argparse.Namespace) -> int:
    from packvault_tools.client import ApiError, Keypair, PackvaultClient

    try:
        session = PackvaultClient(args.api or devstack.api_url()).sign_in(Keypair.load(args.keypair))
    except ApiError as exc:
        print(f"packvault: sign-in refused: {json.dumps(exc.body)}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"packvault: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(session) if args.json else session["token"])
    return 0


def _service_clients(action: str, args: argparse.Namespace) -> int:
    from packvault.accounts import service_clients
    from packvault.core.errors import PackvaultError
    from packvault.edge.runtime import configure

    configure()
    try:
        if action == "create":
            answer = service_clients.create(args.name, args.scopes)
        elif action == "list":
            from packvault import store

            answer = {"service_clients": [service_clients.view(c) for c in store.list_service_clients()]}
        else:
            answer = {"rotate": service_clients.rotate, "finish-rotation": service_clients.finish_rotation,
                      "revoke": service_clients.revoke}[action](args.client_id)
    except PackvaultError as refused:
        print(f"packvault: {refused.message}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0


def _webhook_endpoints(action: str, args: argparse.Namespace) -> int:
    from packvault.core.errors import PackvaultError
    from packvault.core.settings import get_settings
    from packvault.edge import admin
    from packvault.edge.runtime import configure
    from packvault.notifications import endpoints

    configure()
    try:
        if action == "create":
            answer = endpoints.create(get_settings(), args.url, args.events)
        elif action == "list":
            answer = admin.list_webhook_endpoints()
        elif action == "deliveries":
            answer = admin.endpoint_deliveries(args.endpoint_id, 50, None)
        else:
            answer = endpoints.set_active(args.endpoint_id, action == "enable")
    except PackvaultError as refused:
        print(f"packvault: {refused.message}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0


def _mail(args: argparse.Namespace) -> int:
    state = devstack.read_state()
    if state is None:
        print("packvault: no local stack is running (`make run`); in AWS the mail went through SES", file=sys.stderr)
        return 2
    if args.code:
        code = devstack.newest_code(state, args.to) if args.to else None
        if code is None:
            print("packvault: no code was sent to that address" if args.to else "packvault: --code needs --to",
                  file=sys.stderr)
            return 1
        print(code)
        return 0
    for message in devstack.sent_mail(state, args.to):
        print(f"To: {', '.join(message['to'])}\nSubject: {message['subject']}\n\n{message['body']}\n")
    return 0


def _verify_payment(args: argparse.Namespace) -> int:
    from packvault.chain.rpc import RpcError, RpcUnavailable, SolanaRpc
    from packvault.chain.transactions import PaymentTerms, verify_payment
    from packvault.core import money
    from packvault.core.keys import is_signature

    if not is_signature(args.signature):
        print(json.dumps({"status": "invalid", "code": "INVALID_TX_SIGNATURE",
                          "message": "not a transaction signature (base58 of 64 bytes); nothing was looked up"}))
        return 1
    try:
        unit = money.currency(args.currency)
        amount = money.to_base_units(args.amount, unit.decimals)
        if args.mint:
            money.configure_mints({unit.symbol: args.mint})
            unit = money.currency(args.currency)
        terms = PaymentTerms(recipient=args.recipient, amount_base_units=amount, currency=unit.symbol,
                             reference=args.reference, sender=args.sender, mint=unit.mint,
                             token_program=unit.token_program)
        result = SolanaRpc(args.rpc_url).get_transaction(args.signature, args.commitment, args.max_version)
    except money.MoneyFormatError as exc:
        print(f"packvault: {exc}", file=sys.stderr)
        return 1
    except (RpcError, RpcUnavailable) as exc:
        print(json.dumps({"status": "pending", "code": "RPC_UNAVAILABLE", "message": str(exc)}))
        return 2
    verdict = verify_payment(result, terms)
    print(json.dumps({"signature": args.signature, **verdict.to_json(terms)}, indent=2))
    return {"valid": 0, "pending": 2}.get(verdict.status, 1)


def _sweep(_: argparse.Namespace) -> int:
    from packvault.chain.rpc import SolanaRpc
    from packvault.edge import sweeping as expiry
    from packvault.edge.runtime import configure
    from packvault.rails.card import stripe_api as stripe_checkout

    settings = configure()
    rpc = SolanaRpc(settings.solana_rpc_urls) if settings.solana_rpc_urls else None
    report = expiry.sweep(settings, rpc, cards=stripe_checkout.from_settings(settings))
    print(json.dumps(report.as_dict()))
    return 0


def _refunds_list(_: argparse.Namespace) -> int:
    from packvault.edge import admin
    from packvault.edge.runtime import configure

    configure()
    due = admin.list_refunds()["refunds"]
    if not due:
        print("packvault: no refunds are due", file=sys.stderr)
    for refund in due:
        print(json.dumps(refund))
    return 0


def _refunds_mark(args: argparse.Namespace) -> int:
    from packvault import store
    from packvault.core.keys import is_signature
    from packvault.edge.runtime import configure

    if not is_signature(args.tx):
        print("packvault: --tx must be the refund's transaction signature (base58, 64 bytes)", file=sys.stderr)
        return 2
    configure()
    opening = store.get_opening(args.opening_id)
    if opening is None or not store.mark_refunded(opening, {"refund_signature": args.tx}, args.operator):
        print(f"packvault: {args.opening_id} is not an opening awaiting a refund", file=sys.stderr)
        return 1
    print(json.dumps({"opening_id": args.opening_id, "status": "refunded", "refund_signature": args.tx}))
    return 0


def _audit(_: argparse.Namespace) -> int:
    from packvault.edge.runtime import configure
    from packvault_tools.audit import audit

    configure()
    try:
        checked = audit()
    except AssertionError as failure:
        print(json.dumps({"verdict": "violated", "problem": str(failure)}))
        return 1
    print(json.dumps({"verdict": "ok", **checked}))
    return 0


def _credits_grant(args: argparse.Namespace) -> int:
    import uuid

    from packvault import store
    from packvault.core.keys import is_public_key
    from packvault.edge.runtime import configure

    if not is_public_key(args.wallet) or args.amount == 0:
        print("packvault: give a base58 wallet and a non-zero whole number of credits", file=sys.stderr)
        return 2
    configure()
    posting_id = f"grant:{args.key or uuid.uuid4()}"
    if not store.grant_credits(args.wallet, args.amount, posting_id, args.operator, args.reason):
        print(f"packvault: not applied: {posting_id} was used before, or the balance cannot go below zero",
              file=sys.stderr)
        return 1
    print(json.dumps({"wallet": args.wallet, "posting_id": posting_id, "amount": args.amount,
                      "balance": store.credit_balance(args.wallet)}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="packvault", description="Packvault operator and support tools. Without "
                                     "TABLE_NAME they act on the local stack `make run` started.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    catalog = _command(commands, "catalog", "the pack catalog").add_subparsers(dest="action", required=True)
    load = _command(catalog, "load", "validate a catalog file and load it idempotently")
    load.add_argument("file", help="a catalog JSON file (see `packvault catalog schema`)")
    load.set_defaults(run=_catalog_load)
    validate = _command(catalog, "validate", "validate a catalog file without loading it")
    validate.add_argument("file", help="a catalog JSON file")
    validate.set_defaults(run=_catalog_validate)
    _command(catalog, "schema", "print the catalog JSON Schema").set_defaults(run=_catalog_schema)
    verify = _command(commands, "verify-opening", "recompute an opening's items from its fairness proof")
    verify.add_argument("proof", help="a proof JSON file (or an opening with a 'fairness' object), - for stdin; "
                        "with --api, an opening id")
    verify.add_argument("--solana-rpc", help="with --api: also check that the hour's root is the one its anchor "
                        "transaction carries on Solana, read through this JSON-RPC URL")
    verify.add_argument("--api", help="read the opening's public proof from this API instead of a file "
                        "(exit 0 match, 1 mismatch, 2 incomplete)")
    verify.add_argument("--quote", help="the purchase answer you saved (JSON): its signature is checked and the "
                        "proof must open exactly what it committed to")
    verify.add_argument("--receipt", help="the open answer you saved (or its record_receipt, JSON): the proof must "
                        "still hash to the receipt's leaf, in the receipt's hour, signed by the published key "
                        "(docs/FAIRNESS.md 13.5)")
    verify.add_argument("--vault", help="your vault as GET /api/v1/me/vault answered it (JSON): each item the proof "
                        "records must be there, exactly the definition it delivered")
    verify.set_defaults(run=_verify_opening)
    payment = _command(commands, "verify-payment", "check a Solana payment with the Lambda's own verifier; "
                                  "exit 0 valid, 1 invalid, 2 pending")
    payment.add_argument("signature", help="the transaction signature (base58)")
    payment.add_argument("--rpc-url", action="append", required=True, help="repeat to fail over across URLs")
    payment.add_argument("--recipient", required=True, help="the wallet that should have been paid (base58)")
    payment.add_argument("--amount", required=True, help="decimal string, e.g. 0.05")
    payment.add_argument("--currency", default="SOL", help="SOL, USDC or USDT")
    payment.add_argument("--mint", help="the token's mint on this cluster (default: the mainnet mint)")
    payment.add_argument("--reference", help="the quote's Solana Pay reference, required among the account keys")
    payment.add_argument("--sender", help="the buyer's wallet, required to sign and be debited")
    payment.add_argument("--commitment", choices=["confirmed", "finalized"], default="confirmed")
    payment.add_argument("--max-version", type=int, choices=[0, 1], default=0)
    payment.set_defaults(run=_verify_payment)
    _command(commands, "sweep", "run the expiry sweep once (admin cleanup)").set_defaults(run=_sweep)
    refunds = _command(commands, "refunds", "payments that could not open a pack").add_subparsers(
        dest="action", required=True)
    _command(refunds, "list", "openings awaiting a refund").set_defaults(run=_refunds_list)
    mark = _command(refunds, "mark-refunded", "record the refund's transaction")
    mark.add_argument("opening_id", help="the opening awaiting a refund (from `refunds list`)")
    mark.add_argument("--tx", required=True, help="the refund transaction's signature")
    mark.add_argument("--operator", default=os.environ.get("USER", "operator"), help="who made the refund")
    mark.set_defaults(run=_refunds_mark)
    _command(commands, "audit", "check every invariant over the whole table (a full scan: run it off-peak)"
             ).set_defaults(run=_audit)
    credits = _command(commands, "credits", "platform credits").add_subparsers(dest="action", required=True)
    grant = _command(credits, "grant", "adjust a wallet's credits (an operator's posting; negative takes back)")
    grant.add_argument("wallet", help="the wallet (base58)")
    grant.add_argument("amount", type=int, help="whole credits, e.g. 500 or -200")
    grant.add_argument("--reason", required=True, help="why, recorded with the posting")
    grant.add_argument("--key", help="an idempotency key: the same key never posts twice (default: a new one)")
    grant.add_argument("--operator", default=os.environ.get("USER", "operator"), help="who made the adjustment")
    grant.set_defaults(run=_credits_grant)
    keygen = _command(commands, "keygen", "write a new buyer keypair file (Solana CLI format)")
    keygen.add_argument("file", help="where to write the keypair (refuses to overwrite)")
    keygen.set_defaults(run=_keygen)
    login = _command(commands, "login", "sign in with a keypair file; prints an access token")
    login.add_argument("--keypair", required=True)
    login.add_argument("--api", default=None, help="the API (default: the running local stack, else port 3000)")
    login.add_argument("--json", action="store_true", help="print the whole session, not only the token")
    login.set_defaults(run=_login)
    services = _command(commands, "service-clients", "partner services that consume entitlements").add_subparsers(
        dest="action", required=True)
    create = _command(services, "create", "a new service client; its secret is printed once")
    create.add_argument("name")
    create.add_argument("--scopes", required=True, help="comma-separated: entitlements:consume,entitlements:read")
    create.set_defaults(run=lambda a: _service_clients("create", a))
    for action, summary in (("rotate", "a new secret; the old one works until finish-rotation"),
                            ("finish-rotation", "stop accepting the previous secret"),
                            ("revoke", "deactivate: its secrets and tokens stop working at once")):
        command = _command(services, action, summary)
        command.add_argument("client_id")
        command.set_defaults(run=lambda a, action=action: _service_clients(action, a))
    _command(services, "list", "every service client (never a secret)").set_defaults(
        run=lambda a: _service_clients("list", a))
    hooks = _command(commands, "webhook-endpoints", "partners' webhook endpoints").add_subparsers(
        dest="action", required=True)
    hook = _command(hooks, "create", "register an endpoint; its signing secret is printed once")
    hook.add_argument("url")
    hook.add_argument("--events", default="*", help="comma-separated notification types, or * for all")
    hook.set_defaults(run=lambda a: _webhook_endpoints("create", a))
    _command(hooks, "list", "every endpoint (never a secret)").set_defaults(run=lambda a: _webhook_endpoints("list", a))
    for action in ("enable", "disable", "deliveries"):
        command = _command(hooks, action, f"{action} an endpoint" if action != "deliveries" else
                           "an endpoint's deliveries, newest first")
        command.add_argument("endpoint_id")
        command.set_defaults(run=lambda a, action=action: _webhook_endpoints(action, a))
    mail = _command(commands, "mail", "the mail the local stack sent (sign-in codes), oldest first")
    mail.add_argument("--to", help="only the mail to this address")
    mail.add_argument("--code", action="store_true", help="print only the newest code sent to --to")
    mail.set_defaults(run=_mail)
    return parser


def use_local_stack() -> dict | None:
    """Without TABLE_NAME, the environment of the stack `make run` started (values already set win)."""
    if os.environ.get("TABLE_NAME"):
        return None
    state = devstack.read_state_or_exit("packvault")
    if state is not None:
        for key, value in devstack.local_environment(state).items():
            os.environ.setdefault(key, value)
    return state


def _command(parent: argparse._SubParsersAction, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose --help describes it and shows its defaults."""
    return parent.add_parser(name, help=summary, description=summary,
                             formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_local_stack()
    context.begin(f"operator:{getpass.getuser()}", f"cli-{uuid.uuid4().hex[:12]}")
    try:
        return args.run(args)
    except ConfigurationError as exc:
        hint = "" if os.environ.get("TABLE_NAME") else (" (no TABLE_NAME is set and no local stack is running: start "
                                                         "`make run`, or set STAGE and TABLE_NAME for AWS)")
        print(f"packvault: {exc}{hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    except Exception as exc:  # one line for an operator; the cause's name says where to look
        print(f"packvault: {describe_failure(exc)}", file=sys.stderr)
        return 1


def describe_failure(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = exc.__class__.__name__
    cause = exc.__cause__ or exc.__context__
    while cause is not None and "Credentials" not in name and "Connect" not in name:
        name, text = cause.__class__.__name__, (str(cause).strip().splitlines() or [text])[0]
        cause = cause.__cause__ or cause.__context__
    if "Credentials" in name or "Unable to locate credentials" in text:
        return ("no AWS credentials found: configure them for AWS (aws configure / AWS_PROFILE), or start the local "
                "stack with `make run` and leave TABLE_NAME unset")
    if "Connect" in name:
        return f"cannot reach DynamoDB at {os.environ.get('DYNAMODB_ENDPOINT') or 'AWS'}: {text}"
    return f"{name}: {text}"


if __name__ == "__main__":
    sys.exit(main())
