"""`make demo`: with the local stack running (`make run`), do what a buyer does and print every step.

Signs in with a local keypair (.local-stack/demo-buyer.json, created once), asks the local Solana node for
an airdrop, buys a pack, signs and sends the Solana Pay transfer, confirms it and shows the vault.
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


if __name__ == "__main__":
    sys.exit(main())
