"""The layers: bot -> handlers -> services -> (storage | providers). The import-linter
contracts in pyproject.toml (``uv run lint-imports``, run by CI) are the rule; this
test keeps the handlers' part of it in the ordinary test run too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = sorted((ROOT / "handlers").glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (lazy imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.name)
def test_handlers_use_services_only(path: Path) -> None:
    below = {name for name in imported(path) if name.split(".")[0] in ("storage", "providers")}
    assert below == set(), f"{path.name} imports {sorted(below)}: go through a service"


def test_the_contracts_cover_the_layers() -> None:
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'layers = ["bot", "handlers | api", "services", "storage | providers"]' in config
    assert "uv run lint-imports" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
