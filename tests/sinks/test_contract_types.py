"""The sink contract says what crosses it: documents and error bodies are JSON (``models/jsontypes.py``), not
``Any``, and the wrappers at the joins delegate explicitly (no ``__getattr__`` catch-all)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.sourcetree import parse_file

ROOT = Path(__file__).resolve().parents[2]


def _names(path: Path) -> set[str]:
    tree = parse_file(path)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_the_sink_contract_holds_no_any() -> None:
    assert "Any" not in _names(ROOT / "ingest" / "sinks" / "base.py")


def test_the_wrappers_at_the_joins_have_no_catch_all_proxy() -> None:
    for path in ("ingest/server/security/bulkauth.py", "ingest/jobs/cache.py", "ingest/jobs/job.py",
                 "ingest/executors/worker.py"):
        assert "__getattr__" not in _names(ROOT / path), path
