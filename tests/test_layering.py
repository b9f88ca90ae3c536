"""The layers' import rule: ingest → processors → models, never upwards.

The three layers live in the repository's top-level folders `models/`, `processors/` and `ingest/`, and are
imported under one root — `ingest.models`, `ingest.processors`, `ingest.*` — so a user's own top-level
`models` or `processors` module cannot shadow them (tests/test_user_project.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.sourcetree import parse_file

ROOT = Path(__file__).resolve().parent.parent
# Which layers each layer may import from the project.
ALLOWED = {"models": {"models"}, "processors": {"models", "processors"}, "ingest": {"models", "processors", "ingest"}}


def _layer(module: str) -> str | None:
    """The layer a module name belongs to; ``"top-level models"`` etc. for the old, shadowable names."""
    parts = module.split(".")
    if parts[0] in ("models", "processors"):
        return f"top-level {parts[0]}"
    if parts[0] != "ingest":
        return None
    if len(parts) > 1 and parts[1] in ("models", "processors"):
        return parts[1]
    return "ingest"


def _project_imports(path: Path) -> set[str]:
    tree = parse_file(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(layer for n in names if (layer := _layer(n)))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_downwards(layer: str) -> None:
    offenders = []
    # rglob does not follow the ingest/models and ingest/processors links, so each file is checked once
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = _project_imports(path) - ALLOWED[layer]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "upward imports:\n" + "\n".join(offenders)


def test_rule_detects_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from ingest.cli import main\nimport ingest.processors.pipeline\nimport models.api\n")
    assert _project_imports(bad) == {"ingest", "processors", "top-level models"}


def test_layer_links_point_at_the_top_level_folders() -> None:
    for layer in ("models", "processors"):
        link = ROOT / "ingest" / layer
        assert link.is_symlink() and link.resolve() == (ROOT / layer).resolve()
