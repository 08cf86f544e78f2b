"""`make demo`: with the local stack running (`make run`), do what a buyer does and print every step.

Finds the running stack by itself (`.local-stack/stack-<port>.json`, written by `make run`; with several running,
PORT says which; --api to choose another), signs in with a fresh local keypair (saved to
.local-stack/demo-buyer.json, so `packvault login` and `packvault verify-opening` can use it), then pays:
- `make demo` (Solana): asks the local Solana node for an airdrop, buys a pack, signs and sends the Solana Pay
  transfer and confirms it.
- `make demo PAY=card` (Stripe Checkout on the local Stripe double): starts a checkout, opens the hosted
  checkout page, presses Pay on it (or, with BROWSER_PAY=1, waits while you press it yourself) and waits for
  the signed webhook to open the pack.
Either way it prints the revealed items, checks the fairness proof the way docs/FAIRNESS.md says (and saves
it to .local-stack/last-proof.json for `packvault verify-opening`), shows the vault, then sells the most
valuable item back for credits and prints the balance and the ledger.
`make demo PAY=open-payments` pays from an Open Payments wallet on the local wallet provider: the checkout asks the
buyer's wallet (alice) for a grant, the demo opens the consent page, presses Approve, follows the wallet's
redirect to the finish route, which pays and opens the pack.
`make demo PAY=card SIGNIN=email` is a buyer with no wallet at all: signs in with an emailed code (read from the
local mail reader, as `packvault mail` does), pays by card, opens, checks the proof, sees the vault. With SIGNIN=email
and a Solana rail (PAY=solana or credits), the buyer links the local keypair to the account first (a signed sign-in
message): Solana payments come from a wallet linked to the account.
`make demo PAY=entitlement` buys seed 004's 10-meal pack by card; a partner "ordering" service registered by the
local operator takes its own token and consumes two meals (one call retried: taken once), and the holding's events
are printed.
`make demo PAY=credits` tops up with SOL and opens a pack from the balance; `make demo PAY=topup` buys game
credits over GraphQL as seed 001's frontend does (sign in, pay the platform wallet first, purchaseGameCredit,
poll the order until the vendor has delivered it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from local.wallet import RpcWallet, solders_keypair
from packvault.fairness.proof import check_against_quote, check_proof
from packvault_tools import devstack
from packvault_tools.client import ApiError, GraphqlClient, Keypair, PackvaultClient

LOCAL = devstack.local_dir()  # .local-stack/ beside the state files
KEYPAIR = LOCAL / "demo-buyer.json"
PROOF = LOCAL / "last-proof.json"
QUOTE = LOCAL / "last-quote.json"  # the signed purchase answer: what verify-opening --quote checks a proof against
RECEIPT = LOCAL / "last-receipt.json"  # the signed record receipt of the open: what verify-opening --receipt checks


def step(title: str, payload: object) -> None:
    print(json.dumps({"step": title, "result": payload}, indent=2))


def usd(amount: str) -> str:
    return f"${Decimal(amount):.2f}"


def build_parser() -> argparse.ArgumentParser:
    state = devstack.read_state_or_exit("make demo") or {}
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--api", default=os.environ.get("PACKVAULT_API") or state.get("api", "http://127.0.0.1:3000"),
                        help="the API (default: the stack `make run` started, else port 3000)")
    parser.add_argument("--solana-rpc", default=os.environ.get("PACKVAULT_SOLANA_RPC")
                        or state.get("solana_rpc", "http://127.0.0.1:8899"), help="the Solana JSON-RPC to pay on")
    parser.add_argument("--pack", default=os.environ.get("PACKVAULT_DEMO_PACK", "genesis-drop"), help="the pack")
    parser.add_argument("--pay", choices=["solana", "card", "credits", "topup", "open-payments", "entitlement"],
                        default=os.environ.get("PAY") or "solana",
                        help="solana, card (Stripe Checkout through the local double), credits (top up with "
                        "SOL, open a pack from the balance, sell an item back), or topup (game credits over "
                        "GraphQL, delivered by the vendor), or open-payments (an Open Payments wallet approves the "
                        "payment on the local wallet provider), or entitlement (a meal pack by card, then a partner "
                        "'ordering' service consumes meals with its own token)")
    parser.add_argument("--quantity", type=int, default=int(os.environ.get("QUANTITY") or 1),
                        help="packs bought with one payment (bulk opening; PAY=solana, card or open-payments)")
    parser.add_argument("--wallet-address", default=os.environ.get("WALLET_ADDRESS")
                        or (state.get("open_payments_wallets", "http://127.0.0.1") + "/alice"),
                        help="open-payments: the buyer's wallet address")
    parser.add_argument("--sign-in", choices=["wallet", "email"], default=os.environ.get("SIGNIN") or "wallet",
                        help="wallet (Sign-In With Solana with the local keypair) or email (a one-time code read "
                        "from the local stack's mail)")
    parser.add_argument("--browser", action="store_true", default=bool(os.environ.get("BROWSER_PAY")),
                        help="card: print the checkout URL and wait while you pay in a browser")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    LOCAL.mkdir(parents=True, exist_ok=True)
    keypair = Keypair.generate()  # a new buyer every run: per-wallet limits never stop the demo
    KEYPAIR.unlink(missing_ok=True)
    keypair.save(KEYPAIR)
    client = PackvaultClient(args.api)

    def flow() -> int:
        if args.pay == "topup":
            return topup_flow(GraphqlClient(args.api), RpcWallet(args.solana_rpc), keypair)
        if args.sign_in == "email":
            email_sign_in(client, args.api, keypair, needs_wallet=args.pay in ("solana", "credits"))
        else:
            session = client.sign_in(keypair)
            step("1. signed in with a fresh local keypair", {"account_id": session["account_id"],
                                                             "wallet": session["wallet"], "keypair": str(KEYPAIR),
                                                             "expires_at": session["expires_at"]})
        if args.pay == "credits":
            return credits_flow(client, RpcWallet(args.solana_rpc), keypair)
        if args.pay == "entitlement":
            return entitlement_flow(client, args.api)
        receiver = partner_receiver(args.api)
        bulk = {"quantity": args.quantity} if args.quantity != 1 else {}
        if args.pay == "card":
            opened = card_flow(client, args.api, args.pack, args.browser, bulk)
        elif args.pay == "open-payments":
            opened = open_payments_flow(client, args.pack, args.wallet_address, bulk)
        else:
            opened = solana_flow(client, RpcWallet(args.solana_rpc), keypair, args.pack, bulk)
        if opened is None:
            return 1
        show_opening(client, args.pack, opened)
        show_bundle(client, opened)
        show_notifications(receiver, opened["opening_id"], args.api, args.sign_in == "email")
        return 0

    return guarded("demo", args.api, flow)


def email_sign_in(client: PackvaultClient, api: str, keypair: Keypair, needs_wallet: bool) -> None:
    """No wallet needed: an emailed code (read from the local stack's mail) signs a new address in to a new
    account; a Solana rail then links the local keypair to it."""
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    started = client.request("POST", "/api/v1/auth/email/start", {"email": email})
    state = next((s for s in devstack.running_stacks().values() if s.get("api") == api.rstrip("/")), None)
    code = devstack.newest_code(state, email) if state else None
    if code is None:
        raise ApiError(0, {"error": {"message": f"no code reached the local mail for {email} (SES is not the local "
                                                "one?): read it with `.venv/bin/packvault mail --to ...`"}})
    step("1a. asked for a sign-in code by email; read it from the local mail (`packvault mail`)", {
        "email": email, "answer": started["message"], "code": code})
    session = client.request("POST", "/api/v1/auth/email/verify", {"email": email, "code": code})
    client.token = session["token"]
    step("1b. signed in with the code: a new account, no wallet", {
        "account_id": session["account_id"], "wallet": session["wallet"], "expires_at": session["expires_at"]})
    if needs_wallet:
        challenge = client.request("POST", "/api/v1/auth/nonce", {"wallet": keypair.public_key})
        linked = client.request("POST", "/api/v1/me/identities/wallet", {
            "wallet": keypair.public_key, "message": challenge["message"],
            "signature": keypair.sign(challenge["message"].encode())})
        step("1c. linked the local keypair: Solana payments come from a wallet linked to the account", linked)


def partner_receiver(api: str) -> Any:
    """A partner's webhook receiver (local/webhook_receiver.py, verifying signatures from the docs alone), registered
    by the local operator for opening.opened; None when the stack has no local operator."""
    from local.webhook_receiver import WebhookReceiver

    state = next((s for s in devstack.running_stacks().values() if s.get("api") == api.rstrip("/")), None)
    if not state or not state.get("admin_keypair"):
        return None
    return WebhookReceiver().register(api, state["admin_keypair"], ["opening.opened"])


def show_notifications(receiver: Any, opening_id: str, api: str, by_email: bool) -> None:
    """The opening.opened webhook as the partner received it, and (for a buyer with an email) the receipt."""
    if receiver is not None:
        got = receiver.wait_for("opening.opened", 20, opening_id)  # a bundle's units each have their own
        mine = got
        headers = next((a["headers"] for a in receiver.attempts if a["body"] is got), {})
        step("10. a partner's endpoint received opening.opened, signed (Standard Webhooks), and verified it", {
            "id": mine and mine["id"], "type": mine and mine["type"],
            "items": mine and [i["name"] for i in mine["data"].get("items", [])],
            "webhook-id": headers.get("webhook-id"), "signature": (headers.get("webhook-signature") or "")[:16] + "…",
            "verified": bool(mine)})
        receiver.close()
    if by_email:
        state = next((s for s in devstack.running_stacks().values() if s.get("api") == api.rstrip("/")), None)
        deadline = time.monotonic() + 20
        receipt = None
        while state and time.monotonic() < deadline and receipt is None:
            receipt = next((m for m in reversed(devstack.sent_mail(state)) if "Your pack is open" in
                            (m["subject"] or "")), None)
            time.sleep(0.3)
        step("11. the receipt email the buyer got (`packvault mail`)", receipt and {
            "to": receipt["to"], "subject": receipt["subject"], "body": receipt["body"].splitlines()[:8]})


def guarded(name: str, api: str, flow: Callable[[], int]) -> int:
    """Run a demo's steps: the API's refusal, or a stack that is not there, is one line that says so (exit 1 or
    2), never a traceback."""
    try:
        return flow()
    except ApiError as refused:
        error = refused.body.get("error", refused.body) if isinstance(refused.body, dict) else refused.body
        print(f"{name}: the API refused ({refused.status}): {json.dumps(error)}", file=sys.stderr)
        return 1
    except (OSError, requests.RequestException) as exc:
        print(f"{name}: cannot reach the local stack at {api} (is `make run` running? --api chooses another): "
              f"{exc.__class__.__name__}", file=sys.stderr)
        return 2


def solana_flow(client: PackvaultClient, wallet: RpcWallet, keypair: Keypair, pack: str,
                bulk: dict[str, int] | None = None) -> dict[str, Any]:
    wallet.airdrop(keypair.public_key, 2 * 10**9)
    step("2. funded the wallet on the local Solana node", {"balance_sol": str(
        Decimal(wallet.balance(keypair.public_key)) / 10**9)})
    quote = client.request("POST", f"/api/v1/packs/{pack}/purchase", {"currency": "SOL", **(bulk or {})})
    QUOTE.write_text(json.dumps(quote, indent=2))
    step("3. purchased: a payment quote (the units are reserved until it expires)", {
        key: quote[key] for key in ("opening_id", "amount", "currency", "receiver_wallet", "reference",
                                    "quote_expires_at", "server_seed_hash", "solana_pay_url", "quantity", "units")
        if key in quote})
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"], memo=quote_memo(quote))
    step("4. signed and sent the transfer", {"tx_signature": signature, "amount": f"{quote['amount']} SOL"})
    path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
    opened = client.request("POST", path, {"tx_signature": signature, "chain": "sol"})
    for _ in range(10):
        if opened.get("status") != "pending":
            break
        time.sleep(opened.get("retry_after_seconds", 2))
        opened = client.request("POST", path, {"tx_signature": signature, "chain": "sol"})
    return opened


def quote_memo(quote: dict[str, Any]) -> str:
    """The memo the quote's Solana Pay request asks for: packvault:<opening_id>:<quote_hash> for a pack (the
    commitment then sits on chain, FAIRNESS.md 1.6), as a wallet following the request would send it."""
    return parse_qs(urlsplit(quote["solana_pay_url"]).query).get("memo", [f"packvault:{quote['opening_id']}"])[0]


def card_flow(client: PackvaultClient, api: str, pack: str, browser: bool,
              bulk: dict[str, int] | None = None) -> dict[str, Any] | None:
    """Checkout -> the hosted page -> Pay -> the signed webhook opens the pack."""
    body = {"success_url": f"{api}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{api}/checkout/cancelled", **(bulk or {})}
    started = client.request("POST", f"/api/v1/packs/{pack}/checkout", body,
                             headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
    QUOTE.write_text(json.dumps(started, indent=2))
    step("2. checkout started: a unit is reserved until the session expires", started)
    page = requests.get(started["checkout_url"], timeout=10)
    title = page.text.split("<title>", 1)[-1].split("</title>", 1)[0]
    step("3. opened the hosted checkout page", {"url": started["checkout_url"], "status": page.status_code,
                                                "title": title})
    if browser:
        print(f"\nOpen {started['checkout_url']} in a browser and press Pay; waiting for the webhook...\n")
    else:
        paid = requests.post(f"{started['checkout_url']}/pay", timeout=10, allow_redirects=False)
        step("4. pressed Pay: the card is charged and Stripe redirects back", {
            "status": paid.status_code, "redirect": paid.headers.get("location")})
    opened = _wait_until_settled(client, started["opening_id"], 600 if browser else 30)
    if opened["status"] != "opened":
        step("5. not opened", {"status": opened["status"]})
        return None
    return opened


def open_payments_flow(client: PackvaultClient, pack: str, wallet_address: str,
                       bulk: dict[str, int] | None = None) -> dict[str, Any] | None:
    """Checkout -> the buyer's wallet: consent page, Approve -> the wallet's redirect to our finish route, which
    continues the grant, pays and opens."""
    started = client.request("POST", f"/api/v1/packs/{pack}/open-payments/checkout",
                             {"wallet_address": wallet_address, **(bulk or {})},
                             headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
    QUOTE.write_text(json.dumps(started, indent=2))
    step("2. checkout started: an incoming payment at the seller's wallet, a quote at the buyer's, and a grant "
         "waiting for the buyer's approval", {key: started[key] for key in (
             "opening_id", "amount", "currency", "debit_amount", "wallet_address", "expires_at", "redirect_url")})
    page = requests.get(started["redirect_url"], timeout=10)
    title = page.text.split("<title>", 1)[-1].split("</title>", 1)[0]
    approved = requests.post(started["redirect_url"], data={"decision": "approve"}, timeout=10,
                             allow_redirects=False)
    finish_url = approved.headers.get("location", "")
    step("3. opened the wallet's consent page and pressed Approve: the wallet redirects to our finish route", {
        "page": {"status": page.status_code, "title": title}, "approve": approved.status_code,
        "redirect": finish_url.split("?")[0] + "?interact_ref=…&hash=…"})
    finished = requests.get(finish_url, timeout=30)
    step("4. the finish route verified the hash, paid the quote and settled on the seller's incoming payment", {
        "status": finished.status_code, "answer": finished.json()})
    opened = _wait_until_settled(client, started["opening_id"], 30)
    if opened["status"] != "opened":
        step("6. not opened", {"status": opened["status"]})
        return None
    return opened


def show_opening(client: PackvaultClient, pack: str, opened: dict[str, Any]) -> None:
    items = opened["items"]
    step("5. opened: the revealed items, in draw order" + (" (the bundle's first pack; every pack: step 9b)"
                                                            if opened.get("bundle") else ""), {
        "status": opened["status"], "paid": opened.get("payment"),
        "items": [f"{i['name']} ({i['rarity']}, {usd(i['fmv'])})" for i in items]})
    fairness = opened["fairness"]
    odds = client.request("GET", f"/api/v1/packs/{pack}/odds/{fairness['odds_version']}")
    proof = {**fairness, "odds_table": odds["odds_table"]}
    PROOF.write_text(json.dumps(proof, indent=2))
    if opened.get("record_receipt"):
        RECEIPT.write_text(json.dumps(opened["record_receipt"], indent=2))
    result = check_proof(proof)
    quote = json.loads(QUOTE.read_text()) if QUOTE.exists() else {}
    published = client.request("GET", "/api/v1/fairness/quote-key")["public_key"]
    quote_problems = check_against_quote(proof, quote, published)
    step("6. fairness proof, checked as docs/FAIRNESS.md section 6 says", {
        "verdict": result.verdict if not quote_problems else "mismatch", "problems": result.problems,
        "signed_quote": quote_problems or "holds", "warnings": result.warnings,
        "server_seed_hash": fairness["server_seed_hash"], "client_seed": fairness["client_seed"],
        "saved_to": str(PROOF), "check it yourself": f".venv/bin/packvault verify-opening {PROOF} --quote {QUOTE}",
        "record_receipt": {"period": (opened.get("record_receipt") or {}).get("period"), "saved_to": str(RECEIPT),
                           "check it against the public record": f".venv/bin/packvault verify-opening "
                           f"{opened['opening_id']} --api {client.base_url} --receipt {RECEIPT}"}})
    vault = client.request("GET", "/api/v1/me/vault?limit=50")
    mine = {i["vault_item_id"]: i for i in vault["items"]}
    step("7. vault", {"item_count": vault["item_count"], "total_fmv": usd(vault["total_fmv"]),
                      "items": [f"{mine[i['vault_item_id']]['name']} ({usd(mine[i['vault_item_id']]['fmv'])})"
                                for i in items if i["vault_item_id"] in mine]})
    best = max(items, key=lambda i: Decimal(i["fmv"]))
    path = f"/api/v1/me/openings/{opened['opening_id']}/items/{best['vault_item_id']}/buyback"
    offer = client.request("GET", path)
    step("8. instant buyback offer for the most valuable item", {
        key: offer[key] for key in ("name", "fmv", "rate", "credits", "value_usd", "available_until", "status")})
    sale = client.request("POST", path)
    ledger = client.request("GET", "/api/v1/me/credits")
    step("9. sold it back: credits and ledger", {"credits": sale["credits"], "balance": ledger["balance"],
                                                "entries": ledger["entries"]})


def show_bundle(client: PackvaultClient, opened: dict[str, Any]) -> None:
    """A bulk purchase: every pack the one payment opened, each its own opening with a public proof checked here
    (docs/FAIRNESS.md section 12: its id follows from the bundle id, its seed hash is the one the quote listed)."""
    units = (opened.get("bundle") or {}).get("openings")
    if not units:
        return
    checked = []
    for unit in units:
        proof = client.request("GET", f"/api/v1/proofs/{unit['opening_id']}")["proof"]
        checked.append({"opening_id": unit["opening_id"], "unit": unit["unit_index"],
                        "items": [i["name"] for i in unit["items"]], "verdict": check_proof(proof).verdict})
    step(f"9b. the bundle: {len(units)} packs, one payment, each its own opening and proof", checked)


ORDER_FIELDS = ("id orderNumber amount currency status userData createdAt "
                "cryptoTransaction { transactionSignature state confirmations blockTimestamp }")


def topup_flow(graphql: GraphqlClient, wallet: RpcWallet, keypair: Keypair) -> int:
    """Seed 001's frontend, step by step over POST /graphql: sign in (with a signature: seed 001's
    authenticateWallet took none), pay the platform wallet first, then purchaseGameCredit, then poll the order
    until the vendor has delivered."""
    session = graphql.sign_in(keypair)
    step("1. signed in over GraphQL (signInMessage, signed, authenticateWallet)", {
        "user": session["user"], "token": session["token"][:24] + "..."})
    found = graphql.run("{ paymentWallet topupProducts { gameId name items { id name denomination "
                        "prices { currency amount } } } }")
    game = next(g for g in found["topupProducts"] if g["gameId"] == "mobile-legends")
    item = game["items"][0]
    price = next(p["amount"] for p in item["prices"] if p["currency"] == "SOL")
    step("2. the products on sale (topupProducts)", {"game": game["name"], "item": item["name"], "price_sol": price,
                                                     "pay_to": found["paymentWallet"]})
    wallet.airdrop(keypair.public_key, 10**9)
    signature = wallet.pay(solders_keypair(keypair), found["paymentWallet"], int(Decimal(price) * 10**9))
    step("3. paid first: a plain SOL transfer to the platform wallet, signed by the buyer", {
        "transactionSignature": signature, "amount": f"{price} SOL"})
    bought = graphql.run("mutation($item: ID!, $sig: String!) { purchaseGameCredit(productItemId: $item, "
                         "transactionSignature: $sig, gameAccountId: \"12345678\", serverId: \"2051\", "
                         "inGameName: \"PlayerOne\", additionalInfo: {zone_id: \"Asia\"}) { order { "
                         + ORDER_FIELDS + " } success message errors } }", item=item["id"], sig=signature)
    answer = bought["purchaseGameCredit"]
    step("4. purchaseGameCredit: the payment verified on chain, the order paid", answer)
    if not answer["success"]:
        return 1
    order = answer["order"]
    for _ in range(40):
        order = graphql.run("query($id: ID!) { order(id: $id) { " + ORDER_FIELDS + " } }", id=order["id"])["order"]
        if order["status"] in {"succeeded", "failed", "refund_due"}:
            break
        time.sleep(0.5)
    step("5. delivered in the background (SQS -> fulfilment -> vendor); polled order(id)", {
        "orderNumber": order["orderNumber"], "status": order["status"]})
    mine = graphql.run("{ myOrders(limit: 5) { orderNumber status amount currency } }")["myOrders"]
    step("6. myOrders", mine)
    return 0 if order["status"] == "succeeded" else 1


def credits_flow(client: PackvaultClient, wallet: RpcWallet, keypair: Keypair) -> int:
    """Top up with SOL, open a pack from the balance, sell one item back, check the draw once the seed pair is
    rotated, and print the balance and the ledger."""
    wallet.airdrop(keypair.public_key, 2 * 10**9)
    bundles = client.request("GET", "/api/v1/credits/bundles")["bundles"]
    step("2. credit bundles on sale (1 credit = $0.01)", [f"{b['bundle_id']}: {b['credits']} credits for "
                                                          + ", ".join(f"{p['amount']} {p['currency']}"
                                                                      for p in b["prices"]) for b in bundles])
    quote = client.request("POST", "/api/v1/credits/bundles/credits-500/purchase", {"currency": "SOL"})
    signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                           reference=quote["reference"], memo=quote_memo(quote))
    topped = client.request("POST", f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment",
                            {"tx_signature": signature, "chain": "sol"})
    step("3. topped up with SOL: paid, confirmed, credited", {"paid": f"{quote['amount']} SOL",
                                                              "credits": topped["credits"], "tx_signature": signature})
    seeds = client.request("GET", "/api/v1/me/seeds")
    step("4. the seed pair committed before opening", seeds)
    paid = client.request("POST", "/api/v1/packs/starter-unlimited/purchase", {"currency": "CREDIT"},
                          headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
    step("5. opened a pack from the balance: paid and opened in one step", {
        "items": [f"{i['name']} ({usd(i['fmv'])})" for i in paid["items"]], "balance": paid["balance"],
        "draw_id": paid["fairness"]["draw_id"], "server_seed": paid["fairness"]["server_seed"]})
    best = max(paid["items"], key=lambda i: Decimal(i["fmv"]))
    sale = client.request("POST", f"/api/v1/me/openings/{paid['opening_id']}/items/{best['vault_item_id']}/buyback")
    step("6. sold the most valuable item back", {"item": best["name"], "credits": sale["credits"],
                                                 "balance": sale["balance"]})
    rotated = client.request("POST", "/api/v1/me/seeds/rotate", {})
    view = client.request("GET", f"/api/v1/packs/openings/{paid['opening_id']}")
    odds = client.request("GET", f"/api/v1/packs/starter-unlimited/odds/{view['fairness']['odds_version']}")
    result = check_proof({**view["fairness"], "odds_table": odds["odds_table"]})
    step("7. rotated the seed pair: its server seed is revealed and the opening checks", {
        "revealed_server_seed": rotated["revealed"]["server_seed"], "verdict": result.verdict,
        "problems": result.problems})
    ledger = client.request("GET", "/api/v1/me/credits?limit=10")
    step("8. balance and ledger", {"balance": ledger["balance"], "entries": [
        f"{e['kind']} {e['amount']:+d} ({e['posting_id']})" for e in ledger["entries"]]})
    return 0 if result.match else 1


def entitlement_flow(client: PackvaultClient, api: str) -> int:
    """Seed 004's meal pack: bought by card, then consumed by a partner service (a local 'ordering' client with its
    own OAuth client-credentials token), one order at a time, exactly once per order reference."""
    on_sale = client.request("GET", "/api/v1/entitlements")["entitlements"]
    step("2. entitlement packs on sale", [f"{e['entitlement_id']}: {e['units_included']} {e['unit_label']}s for "
                                          + ", ".join(f"{p['amount']} {p['currency']}" for p in e["prices"])
                                          for e in on_sale])
    body = {"success_url": f"{api}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{api}/checkout/cancelled"}
    started = client.request("POST", "/api/v1/entitlements/products/meal-pack-10/checkout", body,
                             headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
    paid = requests.post(f"{started['checkout_url']}/pay", timeout=10, allow_redirects=False)
    opened = _wait_until_settled(client, started["opening_id"], 30)
    step("3. bought the 10-meal pack by card: the signed webhook made the holding", {
        "checkout": started["checkout_session_id"], "pay": paid.status_code, "status": opened["status"],
        "holding_id": started["opening_id"]})
    holding_id = started["opening_id"]
    operator = PackvaultClient(api)
    state = next((s for s in devstack.running_stacks().values() if s.get("api") == api.rstrip("/")), None)
    if not state or not state.get("admin_keypair"):
        print("demo: the stack has no local operator (OPERATOR_ROLES was set): create a service client with "
              "`packvault service-clients create ordering --scopes entitlements:consume,entitlements:read`",
              file=sys.stderr)
        return 1
    operator.sign_in(Keypair.load(state["admin_keypair"]))
    created = operator.request("POST", "/api/v1/admin/service-clients",
                               {"name": "ordering-demo", "scopes": ["entitlements:consume", "entitlements:read"]},
                               headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
    step("4. an operator registered the partner 'ordering' service: its secret is shown once", {
        "client_id": created["client_id"], "scopes": created["scopes"], "client_secret": "pvs_…(shown once)"})
    token = requests.post(f"{api}/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(created["client_id"], created["client_secret"]), timeout=10).json()
    ordering = PackvaultClient(api, token["access_token"])
    step("5. the ordering service took a five-minute token (OAuth 2.0 client credentials)", {
        key: token[key] for key in ("token_type", "expires_in", "scope")})
    order = f"order-{uuid.uuid4().hex[:6]}"
    first = ordering.request("POST", f"/api/v1/entitlements/{holding_id}/consume", {"units": 1, "order_ref": order})
    retried = ordering.request("POST", f"/api/v1/entitlements/{holding_id}/consume",
                               {"units": 1, "order_ref": order})
    second = ordering.request("POST", f"/api/v1/entitlements/{holding_id}/consume",
                              {"units": 1, "order_ref": f"{order}-2"})
    step("6. two meals ordered; the first call retried (same order_ref: the same answer, nothing taken twice)", {
        "first": first, "retry_is_the_same": retried == first, "second": second})
    seen = ordering.request("GET", f"/api/v1/entitlements/{holding_id}")
    mine = client.request("GET", "/api/v1/me/entitlements")["holdings"]
    step("7. what is left: as the service sees it, and in the buyer's account", {
        "service": seen, "buyer": [f"{h['name']}: {h['units_remaining']}/{h['units_included']} {h['unit_label']}s "
                                   f"({h['status']})" for h in mine]})
    events = operator.request("GET", f"/api/v1/admin/events?entity=holding:{holding_id}")["events"]
    step("8. the holding's typed events (actor, request id)", [f"{e['event_type']} by {e['actor']}"
                                                               for e in events])
    return 0 if seen["units_remaining"] == 8 and first == retried else 1


def _wait_until_settled(client: PackvaultClient, opening_id: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        view = client.request("GET", f"/api/v1/packs/openings/{opening_id}")
        if view["status"] != "quoted" or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
