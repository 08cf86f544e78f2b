"""`make deploy ENV=dev|prod ARGS="Name=value ..."`: `sam deploy --config-env ENV` with samconfig.toml's parameter
overrides kept and the given ones added (SAM CLI replaces samconfig's overrides with any given on the command
line, so a bare `--parameter-overrides PlatformWallet=...` would deploy prod with Stage=dev).

Before anything is sent, a prod deploy must name every parameter prod needs (PROD_REQUIRES); the template's Rules
refuse the rest (dev key paths, localhost, devnet, CORS *), and the functions refuse /dev/ key paths at start.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROD_REQUIRES = ("PlatformWallet", "AuthDomain", "SolanaCluster", "CorsAllowOrigins", "RecordAnchorKeyParameter",
                 "CheckoutReturnOrigins", "StorefrontSolanaRpc")


def parse_overrides(text: str) -> dict[str, str]:
    """`Name="value" Other=value` (samconfig's form and the command line's) as a dict, in order."""
    pairs = {}
    for token in shlex.split(text):
        name, separator, value = token.partition("=")
        if not separator or not name:
            raise ValueError(f"{token!r} is not Name=value")
        pairs[name] = value
    return pairs


def merged_overrides(environment: str, given: list[str], samconfig: Path = ROOT / "samconfig.toml") -> dict[str, str]:
    config = tomllib.loads(samconfig.read_text())
    if environment not in config:
        raise ValueError(f"samconfig.toml has no [{environment}] environment")
    kept = config[environment].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    merged = {**parse_overrides(kept), **parse_overrides(" ".join(given))}
    if merged.get("Stage") != environment and environment in {"dev", "staging", "prod"}:
        raise ValueError(f"the {environment} environment would deploy Stage={merged.get('Stage')}")
    if environment == "prod":
        missing = [name for name in PROD_REQUIRES if not merged.get(name)]
        if missing:
            raise ValueError(f"a prod deploy must set {', '.join(missing)} (ARGS=\"Name=value ...\")")
    return merged


def command(environment: str, given: list[str], sam: str) -> list[str]:
    overrides = merged_overrides(environment, given)
    return [sam, "deploy", "--config-env", environment, "--parameter-overrides",
            *(f"{name}={value}" for name, value in overrides.items())]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print("usage: python -m packvault_tools.deploy dev|prod [Name=value ...]", file=sys.stderr)
        return 2
    sam = os.environ.get("SAM", str(ROOT / ".venv-tools" / "bin" / "sam"))
    try:
        run = command(args[0], args[1:], sam)
    except ValueError as exc:
        print(f"make deploy: {exc}", file=sys.stderr)
        return 2
    print("+ " + shlex.join(run), file=sys.stderr)
    return subprocess.run(run, cwd=ROOT, check=False).returncode  # noqa: S603 - sam, with the arguments above


if __name__ == "__main__":
    sys.exit(main())
