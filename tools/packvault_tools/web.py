"""The reference storefront (web/): its configuration document and the fairness test vectors it runs, served by
`make run` at / and written next to the page by `python -m packvault_tools.web OUT_DIR` for a static host (the
template's WebBucket behind CloudFront)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
FAIRNESS = ROOT / "docs" / "FAIRNESS.md"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript",
         ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png"}


def config(api: str, solana_rpc: str, cluster: str) -> dict[str, str]:
    """What the page reads first: the API base URL ("" = the page's own origin), the Solana RPC it sends payments
    through and the cluster its wallet signs for."""
    return {"api": api, "solana_rpc": solana_rpc, "cluster": cluster}


def vectors() -> dict[str, Any]:
    """docs/FAIRNESS.md's test vectors: its JSON blocks are version 1's, version 2's, bundles' (section 12), version
    3's (section 13.9), the stock accounting's (13.10), an ending's (13.11) and Merkle tree 2's (13.12)."""
    blocks = re.findall(r"```json\n(.*?)\n```", FAIRNESS.read_text(encoding="utf-8"), re.S)
    return {"v1": json.loads(blocks[0]), "v2": json.loads(blocks[1]), "bundles": json.loads(blocks[2]),
            "v3": json.loads(blocks[3]), "v3_stock": json.loads(blocks[4]), "v3_ending": json.loads(blocks[5]),
            "v3_tree": json.loads(blocks[6])}


def generated(name: str, api: str, solana_rpc: str, cluster: str) -> bytes | None:
    """The documents the page asks for that are made, not stored: config.json and fairness-vectors.json."""
    if name == "config.json":
        return json.dumps(config(api, solana_rpc, cluster)).encode()
    if name == "fairness-vectors.json":
        return json.dumps(vectors(), ensure_ascii=False).encode()
    return None


QR_PACKAGE = "qrcode-generator@2.0.4"  # MIT, no dependencies: draws the Solana Pay request as a QR code


def qr_module() -> Path:
    """The QR encoder's ES module, fetched once from npm into the cache (like DynamoDB Local), never committed."""
    import sys

    sys.path.insert(0, str(ROOT))
    from local import npm_cache

    folder = npm_cache.unpacked(QR_PACKAGE, "qrcode-generator-2.0.4", "package/dist/qrcode.mjs")
    return folder / "package" / "dist" / "qrcode.mjs"


def static_file(path: str) -> tuple[bytes, str] | None:
    """A file of web/ for a URL path (/ is index.html), or None; nothing outside web/. /vendor/qrcode.mjs is the QR
    encoder from npm."""
    if path == "/vendor/qrcode.mjs":
        try:
            return qr_module().read_bytes(), TYPES[".js"]
        except (RuntimeError, OSError):
            return None  # the page then shows the request as a link only
    relative = path.lstrip("/") or "index.html"
    target = (WEB / relative).resolve()
    if WEB.resolve() not in target.parents or not target.is_file() or target.suffix not in TYPES:
        return None
    return target.read_bytes(), TYPES[target.suffix]


def build(out: Path, api: str, solana_rpc: str, cluster: str) -> None:
    """The page as static files for a static host (then: aws s3 sync OUT s3://<WebBucket>)."""
    out.mkdir(parents=True, exist_ok=True)
    for source in WEB.rglob("*"):  # the page's files and its images (web/images/)
        if source.is_file() and source.suffix in TYPES:
            (out / source.relative_to(WEB)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / source.relative_to(WEB))
    for name in ("config.json", "fairness-vectors.json"):
        (out / name).write_bytes(generated(name, api, solana_rpc, cluster) or b"")
    (out / "vendor").mkdir(exist_ok=True)
    shutil.copy2(qr_module(), out / "vendor" / "qrcode.mjs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m packvault_tools.web", description=build.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--api", required=True, help="the API's base URL (the stack's ApiUrl output)")
    parser.add_argument("--solana-rpc", required=True, help="a Solana JSON-RPC URL browsers may call")
    parser.add_argument("--cluster", default="mainnet", choices=["mainnet", "devnet", "testnet", "localnet"])
    args = parser.parse_args(argv)
    build(args.out, args.api, args.solana_rpc, args.cluster)
    print(f"web: wrote the storefront to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
