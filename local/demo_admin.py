"""`make demo-admin`: with the local stack running (`make run`), do what an operator does and print every step.

`make run` makes a fresh admin wallet each run (OPERATOR_ROLES=<wallet>=admin, its keypair in
.local-stack/admin-keypair-<port>.json); this demo signs in with it, creates a pack, activates it, finds it in the
public catalog, raises its supply, deactivates it (it leaves the public list), shows the openings and refunds
lists, and reads the pack's audit trail: one event per change, each naming the operator and the request.
Every change carries an Idempotency-Key; one is sent twice to show that the retry changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from local.demo import guarded, step
from packvault_tools import devstack
from packvault_tools.client import Keypair, PackvaultClient


def demo_pack(pack_id: str) -> dict:
    return {"pack_id": pack_id, "name": "Operator demo drop", "status": "INACTIVE",
            "description": "Created through the operators' API by make demo-admin.",
            "prices": {"SOL": "0.05", "USD": "4.99"}, "supply": {"total": 100}, "cards_per_pack": 2,
            "tiers": [{"tier_id": "common", "name": "Common", "probability": "0.95",
                       "items": [{"item_id": "spark", "name": "Spark", "nft_id": "demo-spark", "rarity": "common",
                                  "fmv": "0.40", "weight": 3},
                                 {"item_id": "ember", "name": "Ember", "nft_id": "demo-ember", "rarity": "common",
                                  "fmv": "0.55", "weight": 1}]},
                      {"tier_id": "legend", "name": "Legendary", "probability": "0.05",
                       "items": [{"item_id": "phoenix", "name": "Phoenix", "nft_id": "demo-phoenix",
                                  "rarity": "legendary", "fmv": "45", "weight": 1, "stock": 5}]}]}


def main(argv: list[str] | None = None) -> int:
    state = devstack.read_state_or_exit("make demo-admin") or {}
    parser = argparse.ArgumentParser(prog="make demo-admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default=os.environ.get("PACKVAULT_API") or state.get("api", "http://127.0.0.1:3000"))
    parser.add_argument("--keypair", default=state.get("admin_keypair"),
                        help="the operator's keypair file (default: the one `make run` made)")
    args = parser.parse_args(argv)
    if not args.keypair:
        print("demo-admin: no operator keypair: start the stack with `make run` (without OPERATOR_ROLES set), or "
              "pass --keypair FILE for a wallet listed in OPERATOR_ROLES", file=sys.stderr)
        return 2
    return guarded("demo-admin", args.api, lambda: run(PackvaultClient(args.api), Keypair.load(args.keypair)) or 0)


def run(client: PackvaultClient, keypair: Keypair) -> None:
    session = client.sign_in(keypair)
    step("1. signed in as the operator", {"wallet": session["wallet"], "role": session.get("role")})
    pack_id = f"ops-demo-{uuid.uuid4().hex[:6]}"
    key = f"create-{pack_id}"
    created = client.request("POST", "/api/v1/admin/packs", demo_pack(pack_id), headers={"idempotency-key": key})
    again = client.request("POST", "/api/v1/admin/packs", demo_pack(pack_id), headers={"idempotency-key": key})
    step("2. created the pack (inactive); the same request again, same Idempotency-Key, changed nothing", {
        "pack": created["pack"], "retry_gave_the_same_answer": again == created})
    activated = client.request("POST", f"/api/v1/admin/packs/{pack_id}/activate",
                               headers={"idempotency-key": f"activate-{pack_id}"})
    public = [p["pack_id"] for p in client.request("GET", "/api/v1/packs")["packs"]]
    step("3. activated: it is on sale in the public catalog", {"status": activated["pack"]["status"],
                                                                "in_public_catalog": pack_id in public})
    raised = client.request("PATCH", f"/api/v1/admin/packs/{pack_id}", {"supply": {"total": 150}},
                            headers={"idempotency-key": f"supply-{pack_id}"})
    step("4. raised the supply by 50 (counters move by delta, never below reserved + sold)",
         {"supply": raised["pack"]["supply"], "odds_version": raised["pack"]["odds_version"]})
    client.request("POST", f"/api/v1/admin/packs/{pack_id}/deactivate",
                   headers={"idempotency-key": f"deactivate-{pack_id}"})
    public = [p["pack_id"] for p in client.request("GET", "/api/v1/packs")["packs"]]
    step("5. deactivated: gone from the public catalog, still readable by operators", {
        "in_public_catalog": pack_id in public,
        "admin_view_status": client.request("GET", f"/api/v1/admin/packs/{pack_id}")["pack"]["status"]})
    openings = client.request("GET", "/api/v1/admin/openings?limit=5")
    refunds = client.request("GET", "/api/v1/admin/refunds")
    step("6. the latest openings (all packs) and the refunds due", {
        "openings": [{k: o[k] for k in ("opening_id", "pack_id", "status", "rail")} for o in openings["openings"]],
        "refunds_due": len(refunds["refunds"])})
    trail = client.request("GET", f"/api/v1/admin/events?entity=pack:{pack_id}")
    step("7. the pack's audit trail: one event per change, with who and which request", [
        {k: e[k] for k in ("at", "event_type", "actor", "request_id")} | {"status": e["payload"].get("status")}
        for e in trail["events"]])


if __name__ == "__main__":
    sys.exit(main())
