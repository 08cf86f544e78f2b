"""Imports run one way through the domain's capability packages (DESIGN invariant 18):

    core <- store | chain <- accounts | fairness <- catalog <- sales <- rails <- products | notifications <- edge
         <- functions

A module may import its own package and any package below it; never one above or beside it (store and chain
are beside each other, and so are accounts and fairness), and one rail never imports another. Every import counts,
also those inside functions and under TYPE_CHECKING: they are dependencies all the same. A lower package that must
reach a higher one offers a registration point instead (docs/ARCHITECTURE.md, "Packages")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "layers" / "common" / "packvault"
RANK = {"core": 0, "store": 1, "chain": 1, "accounts": 2, "fairness": 2, "catalog": 3, "sales": 4, "rails": 5,
        "products": 6, "notifications": 6, "edge": 7}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every packvault import in `source` (a module named `module`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = module.rsplit(".", node.level)[0]
            found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "packvault":
            if node.module == "packvault":
                found += [(node.lineno, f"packvault.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "packvault"]
    return found


def upward(module: str, target: str) -> str | None:
    """Why `module` may not import `target`, or None when it may."""
    mine, theirs = module.split(".")[1:], target.split(".")[1:]
    if not mine or not theirs or theirs[0] not in RANK or mine[0] not in RANK:
        return None if not theirs or theirs[0] in RANK or theirs[0] == "schemas" else f"{target} is in no package"
    if mine[0] == theirs[0]:
        if mine[0] == "rails" and len(mine) > 2 and len(theirs) > 1 and mine[1] != theirs[1]:
            return f"one rail ({mine[1]}) imports another ({theirs[1]})"
        return None
    if RANK[theirs[0]] >= RANK[mine[0]]:
        return f"{mine[0]} imports {theirs[0]}, which is {'beside' if RANK[theirs[0]] == RANK[mine[0]] else 'above'} it"
    return None


def modules() -> list[tuple[str, Path]]:
    return [(("packvault." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"), path)
            for path in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_of_the_layer_is_in_a_capability_package():
    loose = [name for name, _ in modules() if name.count(".") == 1 and name.split(".")[1] not in RANK]
    assert loose == [], f"modules outside every package: {loose}"


@pytest.mark.parametrize(("module", "path"), modules(), ids=[name for name, _ in modules()])
def test_imports_run_one_way(module, path):
    problems = [f"line {line}: {target}: {why}" for line, target in imported_modules(path.read_text(), module)
                if (why := upward(module, target))]
    assert problems == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("packvault.sales.settle", "from packvault.products import game_credits", "sales imports products, which is above"),
    ("packvault.store.openings", "from packvault.rails.solana.quote import x", "store imports rails, which is above"),
    ("packvault.sales.expiry", "def f():\n    from packvault.rails.card import settlement", "above"),
    ("packvault.store.table", "from packvault.chain.rpc import SolanaRpc", "beside"),
    ("packvault.rails.card.settlement", "from packvault.rails.solana import confirm", "one rail"),
    ("packvault.sales.settle", "from packvault.fairness import draw", None),
    ("packvault.edge.http", "from packvault.products import game_credits", None),
])
def test_the_check_catches_an_upward_import(module, source, expected):
    reasons = [upward(module, target) for _, target in imported_modules(source, module)]
    if expected is None:
        assert reasons == [None]
    else:
        assert reasons[0] is not None and expected in reasons[0]
