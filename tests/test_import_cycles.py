"""No import cycles inside a layer: between modules, and between the sub-packages of a layer.

Every import counts — at module level, under ``if TYPE_CHECKING:`` and inside functions — because each is a
dependency a reader (and a type checker) must follow; an import moved into a function hides a circle from the
interpreter, not from the design. A cycle is a strongly connected component of the module graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.sourcetree import parse_file

ROOT = Path(__file__).resolve().parent.parent
# Layer folder → the package its modules are imported as.
LAYERS = {"models": "ingest.models", "processors": "ingest.processors", "ingest": "ingest"}
# Known cycles by layer, with why they are tolerated (none today: issue 13 broke the last ones). A changed circle
# (other members) fails like a new one.
KNOWN: dict[str, dict[frozenset[str], str]] = {}
# The same between a layer's sub-packages. One circle is left in ``ingest``, around the job runner: ``context``
# opens the jobs' stores (``jobs.cache``, ``checkpoint``, ``indexmeta``) while ``jobs.runner`` takes a context;
# ``deadletter.replay`` and ``sources.kafka.ray_members`` run jobs that write dead letters and read sources.
# Breaking it means moving those stores out of ``jobs`` and the job-running entry points up a level (a
# follow-up); a changed circle fails like a new one.
KNOWN_PACKAGES: dict[str, dict[frozenset[str], str]] = {
    "ingest": {frozenset({"ingest.context", "ingest.deadletter", "ingest.jobs", "ingest.sources"}):
               "the job runner between the application context, dead letters and sources (see above)"},
}


def module_names(folder: Path, package: str) -> dict[str, Path]:
    """Module name → file for every module under ``folder`` (links, such as ingest/models, are not followed)."""
    names: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([package, *parts])] = path
    return names


def _imported(path: Path, module: str, is_package: bool) -> set[str]:
    """Every name ``path`` imports (``from a import b`` gives ``a.b``: the module ``a.b``, or ``b`` inside ``a``)."""
    tree = parse_file(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


_OTHER_LAYERS = ("ingest.models", "ingest.processors")


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the modules of ``modules`` it imports (each name resolved to its longest known module)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for imported in _imported(path, name, path.name == "__init__.py"):
            if any(imported.startswith(f"{other}.") and other not in modules for other in _OTHER_LAYERS):
                continue  # another layer's module (ingest.models.x), not the root package ``ingest``
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(frozenset(members))
    return found


def package_graph(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    """The same graph between the layer's sub-packages (``ingest.models.services``); its top-level modules stay
    themselves. Sub-packages that need each other cannot be understood, tested or moved apart either."""

    def top(module: str) -> str:
        rest = module.removeprefix(package + ".").split(".")
        return package if module == package else f"{package}.{rest[0]}"

    out: dict[str, set[str]] = {}
    for source, targets in graph.items():
        src = top(source)
        out.setdefault(src, set()).update(top(t) for t in targets if top(t) not in (src, package))
    return out


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_no_import_cycles(layer: str) -> None:
    graph = import_graph(module_names(ROOT / layer, LAYERS[layer]))
    new = [c for c in cycles(graph) if c not in KNOWN.get(layer, {})]
    assert not new, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in new)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_no_import_cycles_between_sub_packages(layer: str) -> None:
    graph = package_graph(import_graph(module_names(ROOT / layer, LAYERS[layer])), LAYERS[layer])
    new = [c for c in cycles(graph) if c not in KNOWN_PACKAGES.get(layer, {})]
    assert not new, "import cycles between sub-packages:\n" + "\n".join(" <-> ".join(sorted(c)) for c in new)


def test_every_kind_of_import_closes_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n")
    (pkg / "b.py").write_text("def f():\n    from pkg import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from pkg.c import x\n")
    (pkg / "e.py").write_text("from . import d\n")
    found = cycles(import_graph(module_names(pkg, "pkg")))
    assert found == [frozenset({"pkg.a", "pkg.b", "pkg.c"})]
    assert import_graph(module_names(pkg, "pkg"))["pkg.e"] == {"pkg.d"}


def test_a_cycle_between_sub_packages_is_found(tmp_path: Path) -> None:
    """Modules without a circle can still tie their packages into one (``a.x`` → ``b.y`` → ``a.z``)."""
    for sub in ("a", "b"):
        (tmp_path / "t" / sub).mkdir(parents=True)
        (tmp_path / "t" / sub / "__init__.py").write_text("")
    (tmp_path / "t" / "__init__.py").write_text("")
    (tmp_path / "t" / "a" / "x.py").write_text("from t.b.y import f\n")
    (tmp_path / "t" / "b" / "y.py").write_text("from t.a.z import g\n")
    (tmp_path / "t" / "a" / "z.py").write_text("g = 1\n")
    graph = import_graph(module_names(tmp_path / "t", "t"))
    assert cycles(graph) == []
    assert cycles(package_graph(graph, "t")) == [frozenset({"t.a", "t.b"})]
