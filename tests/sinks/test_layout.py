"""The shape of ``ingest/sinks``: no import circles, no private names across modules, one folder per sink kind."""

from __future__ import annotations

import ast
from pathlib import Path

from ingest.sinks import registry
from tests.sourcetree import parse_file

SINKS = Path(__file__).resolve().parents[2] / "ingest" / "sinks"


def _module(path: Path) -> str:
    parts = path.relative_to(SINKS.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, list[tuple[str, list[str]]]]:
    """module → [(imported module, names)], every import in the file (lazy and TYPE_CHECKING ones too)."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for path in SINKS.rglob("*.py"):
        edges = found.setdefault(_module(path), [])
        for node in ast.walk(parse_file(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ingest.sinks"):
                edges.append((node.module, [alias.name for alias in node.names]))
            elif isinstance(node, ast.Import):
                edges.extend((alias.name, []) for alias in node.names if alias.name.startswith("ingest.sinks"))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circles_between_sink_modules() -> None:
    graph = {module: {target for target, _ in edges if target != module} for module, edges in _imports().items()}
    assert _cycle(graph) is None


def test_the_circle_check_sees_a_lazy_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_no_private_names_imported_across_modules() -> None:
    private = [(module, target, name) for module, edges in _imports().items() for target, names in edges
               for name in names if name.startswith("_")]
    assert private == []


def test_each_kind_has_its_folder_and_no_other_sink_imports_it_but_through_its_package() -> None:
    for kind in registry.KINDS:
        folder = SINKS / kind.module.rsplit(".", 1)[-1]
        assert (folder / "__init__.py").is_file(), kind.name
    for module, edges in _imports().items():
        for target, _ in edges:
            if target.startswith("ingest.sinks.embedded.") and not module.startswith("ingest.sinks.embedded"):
                raise AssertionError(f"{module} reaches into the embedded sink's {target}")
