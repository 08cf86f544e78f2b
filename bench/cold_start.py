"""Cold start: for each function in template.yaml, the median over N fresh processes of Lambda's init
phase (importing the handler module, which validates settings, binds the store and builds the router),
next to a bare handler that only imports boto3 and creates a DynamoDB client, and next to the floor the chosen
libraries set: the bare handler plus importing pydantic's BaseModel (settings), Powertools' HTTP router and Logger,
and PynamoDB, with none of our code. Each function's ratio to both is printed.

    .venv/bin/python bench/cold_start.py [--runs 10]

Bytecode is already compiled in .venv and the source tree (as in the precompiled layer sam build makes). Each
function imports only what Lambda would give it: the runtime's boto3 and the packages its layers install (with
their dependencies); anything else in .venv is hidden from it, as an optional import would find it missing in
Lambda (PyJWT, for one, loads cryptography when it can, and only the Open Payments layer ships cryptography).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local import template  # noqa: E402
from packvault.core.keys import new_reference  # noqa: E402

INIT = """
import importlib.util, sys, time
class NotInItsLayers:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NotInItsLayers())
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
getattr(module, {handler!r})
print((time.perf_counter() - start) * 1000)
"""

BARE = """
import time
start = time.perf_counter()
import boto3
boto3.client("dynamodb")
print((time.perf_counter() - start) * 1000)
"""

FLOOR = """
import time
start = time.perf_counter()
import boto3
boto3.client("dynamodb")
from pydantic import BaseModel
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
import pynamodb.models, pynamodb.transactions
print((time.perf_counter() - start) * 1000)
"""

RUNTIME = ("boto3",)  # what the Lambda Python runtime provides (with botocore and their dependencies)


def hidden_modules(tree: dict[str, Any], function_id: str) -> set[str]:
    """Top-level modules installed in .venv that neither the runtime nor the function's layers provide."""
    properties = tree["Resources"][function_id]["Properties"]
    layers = tree.get("Globals", {}).get("Function", {}).get("Layers", []) + properties.get("Layers", [])
    wanted = list(RUNTIME)
    for layer in layers:
        content = ROOT / tree["Resources"][layer["Ref"]]["Properties"]["ContentUri"] / "requirements.txt"
        wanted += [Requirement(line.split("#")[0]).name for line in content.read_text().splitlines()
                   if line.split("#")[0].strip()]
    allowed = _with_dependencies(wanted)
    providers = metadata.packages_distributions()
    return {module for module, dists in providers.items()
            if not module.startswith("_") or module == "_cffi_backend"
            if not any(canonicalize_name(d) in allowed for d in dists)} - {"packvault"}


def _with_dependencies(names: list[str]) -> set[str]:
    seen: set[str] = set()
    while names:
        name = canonicalize_name(names.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                names.append(requirement.name)
    return seen


ENV = {"STAGE": "dev", "TABLE_NAME": "packvault-bench", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_SERVICE_NAME": "packvault",
       "DYNAMODB_ENDPOINT": "http://127.0.0.1:1", "PLATFORM_WALLET": new_reference(),
       "JWT_SIGNING_KEY": secrets.token_urlsafe(48), "JWT_SIGNING_KEY_PARAMETER": "",
       "SOLANA_RPC_URLS": "http://127.0.0.1:1", "STRIPE_SECRET_KEY": "sk_test_bench",
       "STRIPE_WEBHOOK_SECRET": "whsec_bench", "STRIPE_API_BASE": "http://127.0.0.1:1",
       "CHECKOUT_RETURN_ORIGINS": "https://shop.example", "VENDOR_API_URL": "http://127.0.0.1:1",
       "VENDOR_API_KEY": "vendor_bench", "FULFILMENT_QUEUE_URL": "http://127.0.0.1:1/queue/bench",
       "OPEN_PAYMENTS_WALLET_ADDRESS": "https://wallet.example/shop", "OPEN_PAYMENTS_KEY_ID": "bench",
       "OPEN_PAYMENTS_PRIVATE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
       "OPEN_PAYMENTS_FINISH_URL": "https://api.example/api/v1/open-payments/finish",
       "PASSKEY_RP_ID": "shop.example", "PASSKEY_ORIGINS": "https://shop.example", "MAIL_FROM": "no-reply@shop.example"}


def median_ms(code: str, runs: int) -> float:
    env = {**os.environ, **ENV, "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}"}  # this checkout's layer
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    median_ms(BARE, 1)  # warm the OS file cache so the first row is not penalised
    bare, floor = median_ms(BARE, args.runs), median_ms(FLOOR, args.runs)
    rows = [("bare: boto3 + DynamoDB client", bare), ("floor: bare + pydantic, Powertools, PynamoDB", floor)]
    tree = template.load()
    for spec in template.functions(tree).values():
        path = spec.code_dir / f"{spec.module}.py"
        code = INIT.format(path=str(path), handler=spec.handler, hidden=hidden_modules(tree, spec.logical_id))
        rows.append((spec.logical_id, median_ms(code, args.runs)))
    print(f"cold start: median init over {args.runs} fresh processes (python {sys.version.split()[0]})")
    print(f"{'function':<46}{'init ms':>8}{'x bare':>8}{'x floor':>9}")
    for name, ms in rows:
        print(f"{name:<46}{ms:>8.0f}{ms / bare:>8.2f}{ms / floor:>9.2f}")


if __name__ == "__main__":
    main()
