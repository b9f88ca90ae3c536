"""No import circles inside ``models/``: between modules, and between its sub-packages.

Every import counts, including the ones inside functions: a function-level import that closes a circle only hides
it (the two modules still cannot be understood, tested or moved apart). Importing ``a.b.c`` also runs the
``__init__`` of ``a.b``, so a module depends on the parent packages of what it imports too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = "models"
PREFIX = "ingest.models"


def module_name(path: Path, root: Path, prefix: str) -> str:
    """``models/services/base.py`` → ``ingest.models.services.base``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([prefix, *parts])


def imported_names(path: Path, package: str) -> set[str]:
    """Every module name an import statement in the file names (absolute or relative), at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # ``from pkg import sub`` imports the submodule when ``sub`` is one
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _within(module: str, package: str) -> bool:
    return module.startswith(package + ".")


def import_graph(root: Path, prefix: str) -> dict[str, set[str]]:
    """Module → the modules of the same tree it imports (parent packages of each target included)."""
    files = {module_name(p, root, prefix): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets: set[str] = set()
        for imported in imported_names(path, package):
            parts = imported.split(".")
            # the parents of the target, except this module's own packages: those are already being imported
            # when it runs (a package's ``__init__`` re-exporting its modules is not a circle)
            targets.update(m for i in range(1, len(parts) + 1)
                           if (m := ".".join(parts[:i])) in files and not _within(name, m))
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]], prefix: str) -> dict[str, set[str]]:
    """The same graph between sub-packages (``ingest.models.services``); top-level modules stay themselves."""

    def package(module: str) -> str:
        rest = module.removeprefix(prefix + ".").split(".")
        return f"{prefix}.{rest[0]}" if module != prefix else prefix

    out: dict[str, set[str]] = {}
    for source, targets in graph.items():
        src = package(source)
        out.setdefault(src, set()).update(package(t) for t in targets if package(t) not in (src, prefix))
    return out


def _describe(found: Iterable[list[str]]) -> str:
    return "\n".join(" ↔ ".join(c) for c in found)


def test_no_module_cycles_in_models() -> None:
    found = cycles(import_graph(ROOT / LAYER, PREFIX))
    assert not found, "import circles:\n" + _describe(found)


def test_no_package_cycles_in_models() -> None:
    found = cycles(package_graph(import_graph(ROOT / LAYER, PREFIX), PREFIX))
    assert not found, "import circles between sub-packages:\n" + _describe(found)


def test_a_circle_is_found(tmp_path: Path) -> None:
    """The finder sees a circle closed by a function-level import, through a package ``__init__``."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from t.pkg.low import thing\n")
    (tmp_path / "pkg" / "low.py").write_text("thing = 1\n")
    (tmp_path / "high.py").write_text("def f():\n    from t.pkg import low\n")
    assert cycles(import_graph(tmp_path, "t")) == []
    (tmp_path / "pkg" / "low.py").write_text("def g():\n    from .. import high\n")
    assert cycles(import_graph(tmp_path, "t")) == [["t.high", "t.pkg", "t.pkg.low"]]
    packages = package_graph(import_graph(tmp_path, "t"), "t")
    assert cycles(packages) == [["t.high", "t.pkg"]]
