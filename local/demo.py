"""`make demo`: with the local stack running (`make run`), do what a buyer does and print every step.

Signs in with a local keypair (.local-stack/demo-buyer.json, created once), then pays one of two ways:
- `make demo` (Solana): asks the local Solana node for an airdrop, buys a pack, signs and sends the Solana Pay
  transfer, confirms it and shows the vault.
- `make demo PAY=card` (Stripe Checkout on the local Stripe double): starts a checkout, opens the hosted
  checkout page, presses Pay on it (or, with BROWSER=1, waits while you press it yourself), waits for the
  signed webhook to open the pack and shows the items and the vault.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from local.wallet import RpcWallet, solders_keypair
from packvault.client import ApiError, Keypair, PackvaultClient

KEYPAIR = Path(__file__).resolve().parent.parent / ".local-stack" / "demo-buyer.json"


def step(title: str, payload: object) -> None:
    print(json.dumps({"step": title, "result": payload}, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default=os.environ.get("PACKVAULT_API", "http://127.0.0.1:3000"))
    parser.add_argument("--solana-rpc", default=os.environ.get("PACKVAULT_SOLANA_RPC", "http://127.0.0.1:8899"))
    parser.add_argument("--pack", default=os.environ.get("PACKVAULT_DEMO_PACK", "genesis-drop"))
    parser.add_argument("--pay", choices=["solana", "card"], default=os.environ.get("PAY") or "solana",
                        help="solana (default) or card (Stripe Checkout through the local double)")
    parser.add_argument("--browser", action="store_true", default=bool(os.environ.get("BROWSER_PAY")),
                        help="card: print the checkout URL and wait while you pay in a browser")
    args = parser.parse_args(argv)

    if not KEYPAIR.exists():
        KEYPAIR.parent.mkdir(parents=True, exist_ok=True)
        Keypair.generate().save(KEYPAIR)
    keypair = Keypair.load(KEYPAIR)
    client = PackvaultClient(args.api)
    wallet = RpcWallet(args.solana_rpc)
    try:
        session = client.sign_in(keypair)
        step("1. signed in with a local keypair", {"wallet": session["wallet"], "expires_at": session["expires_at"]})
        if args.pay == "card":
            return card_flow(client, args.api, args.pack, args.browser)
        wallet.airdrop(keypair.public_key, 2 * 10**9)
        step("2. funded the wallet on the local Solana node", {"balance_lamports": wallet.balance(keypair.public_key)})
        quote = client.request("POST", f"/api/v1/packs/{args.pack}/purchase", {"currency": "SOL"})
        step("3. purchased: payment quote", quote)
        signature = wallet.pay(solders_keypair(keypair), quote["receiver_wallet"], int(quote["amount_base_units"]),
                               reference=quote["reference"], memo=f"packvault:{quote['opening_id']}")
        step("4. signed and sent the transfer", {"tx_signature": signature, "amount_sol": quote["amount_sol"]})
        path = f"/api/v1/packs/openings/{quote['opening_id']}/confirm-payment"
        opened = client.request("POST", path, {"tx_signature": signature, "chain": "sol"})
        for _ in range(10):
            if opened.get("status") != "pending":
                break
            time.sleep(opened.get("retry_after_seconds", 2))
            opened = client.request("POST", path, {"tx_signature": signature, "chain": "sol"})
        step("5. confirmed: revealed items", {"status": opened["status"], "items": opened["items"]})
        step("6. fairness proof", opened["fairness"])
        vault = client.request("GET", "/api/v1/me/vault?limit=10")
        step("7. vault", {"item_count": vault["item_count"], "total_fmv": vault["total_fmv"],
                          "newest": [f"{i['name']} ({i['rarity']}, ${i['fmv']})" for i in vault["items"]]})
    except ApiError as refused:
        print(json.dumps({"error": refused.body, "status": refused.status}, indent=2), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"demo: is the local stack running (make run)? {exc}", file=sys.stderr)
        return 2
    return 0


def card_flow(client: PackvaultClient, api: str, pack: str, browser: bool) -> int:
    """Checkout -> the hosted page -> Pay -> the signed webhook opens the pack -> items and vault."""
    import uuid

    import requests

    body = {"success_url": f"{api}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{api}/checkout/cancelled"}
    started = client.request("POST", f"/api/v1/packs/{pack}/checkout", body,
                             headers={"idempotency-key": f"demo-{uuid.uuid4()}"})
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
        return 1
    step("5. the signed webhook arrived: revealed items", {"status": opened["status"], "payment": opened["payment"],
                                                           "items": opened["items"]})
    step("6. fairness proof", opened["fairness"])
    vault = client.request("GET", "/api/v1/me/vault?limit=10")
    step("7. vault", {"item_count": vault["item_count"], "total_fmv": vault["total_fmv"],
                      "newest": [f"{i['name']} ({i['rarity']}, ${i['fmv']})" for i in vault["items"]]})
    return 0


def _wait_until_settled(client: PackvaultClient, opening_id: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        view = client.request("GET", f"/api/v1/packs/openings/{opening_id}")
        if view["status"] != "quoted" or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
