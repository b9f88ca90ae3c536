"""The layers' import rule: ingest → processors → models, never upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Which top-level packages each layer may import from the project.
ALLOWED = {"models": {"models"}, "processors": {"models", "processors"}, "ingest": {"models", "processors", "ingest"}}


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in ALLOWED)
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_downwards(layer: str) -> None:
    offenders = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = _project_imports(path) - ALLOWED[layer]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "upward imports:\n" + "\n".join(offenders)


def test_rule_detects_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from ingest.cli import main\nimport processors.pipeline\n")
    assert _project_imports(bad) == {"ingest", "processors"}
