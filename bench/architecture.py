"""Architecture metrics of a source tree (issue 13): where sink kinds are known, ``Any`` at module boundaries,
mypy --strict errors on the public API, import times, import cycles per layer.

``python -m bench.architecture [TREE ...] [--runs N] [--skip-mypy] [--json]`` (TREE defaults to this checkout;
give the before and after trees together so that their import times are measured in turns, in one run).
Works on both layouts: the old one (top-level ``models``/``processors`` packages imported as such) and the one
import root (``ingest.models``/``ingest.processors``, links to the same folders). Files are the unit, so the
figures of both layouts compare directly. Import times are medians of N fresh subprocesses.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LAYERS = ("models", "processors", "ingest")
# A string-literal check of a destination's scheme: the way callers decided what a sink can do.
_SCHEME_CHECK = re.compile(
    r"""startswith\(\(?\s*["'](?:https?|file|embedded)|==\s*["'](?:embedded|file|https?)["']"""
    r"""|scheme\s*(?:==|in)\s*\(?\s*["'](?:https?|file|embedded)""")
_CONCRETE_SINK = re.compile(r"^\s*(?:from|import)\s+(?:ingest\.)?sinks\.(?:embedded|elasticsearch|opensearch|files)\b",
                            re.M)
# The public Python API, by layout: (old module, new module); a module missing from a tree is skipped.
PUBLIC_MODULES = (
    ("ingest", "ingest"),
    ("ingest.public.jobs", "ingest.public.jobs"),
    ("ingest.public.facade", "ingest.public.facade"),
    ("ingest.jobs.config", "ingest.jobs.config"),
    ("ingest.jobs.runner", "ingest.jobs.runner"),
    ("ingest.jobs.search", "ingest.jobs.search"),
    ("models.api", "ingest.models.api"),
    ("processors.service", "ingest.processors.service"),
    ("processors.pipeline", "ingest.processors.pipeline"),
)


@dataclass
class Tree:
    """A checkout to measure."""

    root: Path
    new_layout: bool = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.new_layout = (self.root / "ingest" / "models").exists()

    def layer_files(self, layer: str) -> list[Path]:
        """The layer's Python files, by their real path (the links under ``ingest/`` are not walked)."""
        base = self.root / layer
        skip = {base / "models", base / "processors"} if layer == "ingest" else set()
        return sorted(p for p in base.rglob("*.py") if not any(s in p.parents for s in skip))

    def module_name(self, path: Path) -> str:
        """The name a file is imported by in this layout."""
        rel = path.relative_to(self.root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if self.new_layout and parts[0] in ("models", "processors"):
            parts.insert(0, "ingest")
        return ".".join(parts)

    def env(self) -> dict[str, str]:
        """Environment for subprocesses that import this tree."""
        return {**os.environ, "PYTHONPATH": str(self.root), "INGEST_HOME": tempfile.mkdtemp(prefix="arch-home-")}


# --- sink kinds -------------------------------------------------------------------------------------------------


def sink_knowledge(tree: Tree) -> dict[str, list[str]]:
    """Files outside ``ingest/sinks/`` that check a destination's scheme, or import a concrete sink."""
    checks, imports = [], []
    sinks = tree.root / "ingest" / "sinks"
    for path in tree.layer_files("ingest"):
        if sinks in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(tree.root))
        if any(_SCHEME_CHECK.search(line) and ("dest" in line or "embedded" in line) for line in text.splitlines()):
            checks.append(rel)
        if _CONCRETE_SINK.search(text):
            imports.append(rel)
    return {"scheme_checks": checks, "concrete_sink_imports": imports,
            "either": sorted(set(checks) | set(imports))}


# --- Any at module boundaries -----------------------------------------------------------------------------------


def _any_in(node: ast.AST | None) -> int:
    if node is None:
        return 0
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            return _any_in(ast.parse(node.value, mode="eval"))
        except SyntaxError:
            return 0
    return sum(1 for n in ast.walk(node)
               if (isinstance(n, ast.Name) and n.id == "Any") or (isinstance(n, ast.Attribute) and n.attr == "Any"))


def _function_any(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = fn.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return sum(_any_in(a.annotation) for a in every if a is not None) + _any_in(fn.returns)


def boundary_any(path: Path) -> tuple[int, int]:
    """(``Any`` in annotations of public functions, methods and attributes; ``Any`` anywhere in the file)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    total = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "Any")
    public = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            public += _function_any(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and not node.target.id.startswith("_"):
            public += _any_in(node.annotation)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                        not item.name.startswith("_") or item.name == "__init__"):
                    public += _function_any(item)
                    if item.name == "__init__":  # self.x: Any = ... attributes
                        public += sum(_any_in(s.annotation) for s in ast.walk(item)
                                      if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Attribute)
                                      and not s.target.attr.startswith("_"))
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) \
                        and not item.target.id.startswith("_"):
                    public += _any_in(item.annotation)
    return public, total


def any_counts(tree: Tree) -> dict[str, dict[str, int]]:
    """Per layer: ``Any`` at public boundaries and in total."""
    out = {}
    for layer in LAYERS:
        counts = [boundary_any(p) for p in tree.layer_files(layer)]
        out[layer] = {"boundary": sum(c[0] for c in counts), "total": sum(c[1] for c in counts)}
    return out


# --- mypy --strict on the public API ----------------------------------------------------------------------------


def mypy_strict(tree: Tree) -> dict[str, object]:
    """``mypy --strict`` over the package (the tree's own mypy config plus ``--strict``): errors in the public
    API modules, in all files, and whether ``py.typed`` ships (without it, users' type checkers see nothing)."""
    public = set()
    for old, new in PUBLIC_MODULES:
        parts = (new if tree.new_layout else old).split(".")
        if tree.new_layout and parts[:2] in (["ingest", "models"], ["ingest", "processors"]):
            parts = parts[1:]
        for candidate in (tree.root.joinpath(*parts).with_suffix(".py"), tree.root.joinpath(*parts, "__init__.py")):
            if candidate.exists():
                public.add(candidate.resolve())
    cache = Path(tempfile.gettempdir()) / f"arch-mypy-{abs(hash(str(tree.root)))}"
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(cache)]
    out = subprocess.run(cmd, cwd=tree.root, env=tree.env(), capture_output=True, text=True, timeout=1800)
    errors = [line.split(":", 1)[0] for line in out.stdout.splitlines() if ": error:" in line]
    in_public = [f for f in errors if (tree.root / f).resolve() in public]
    per_file: dict[str, int] = {}
    for f in in_public:
        per_file[f] = per_file.get(f, 0) + 1
    return {"public_modules": sorted(str(p.relative_to(tree.root)) for p in public), "errors": len(in_public),
            "errors_whole_package": len(errors), "per_file": per_file,
            "py_typed": (tree.root / "ingest" / "py.typed").exists(),
            "crashed": out.returncode not in (0, 1) and out.stderr.strip()[-300:]}


# --- import time ------------------------------------------------------------------------------------------------


def _seconds(tree: Tree, code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=tree.root, env=env, capture_output=True, text=True,
                         timeout=300)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{code!r} failed in {tree.root}: {out.stderr[-500:]}")
    return elapsed


def import_times(trees: list[Tree], runs: int) -> list[dict[str, float]]:
    """Median wall seconds of fresh interpreters, per tree: bare, ``import ingest``, ``ingest --version``, and
    importing ``run_job``. The trees take turns within each round, so machine load falls on all alike."""
    cases: dict[str, Callable[[Tree], str]] = {
        "python -c pass": lambda tree: "pass",
        "import ingest": lambda tree: "import ingest",
        "ingest --version": lambda tree: ("import sys; sys.argv = ['ingest', '--version']; "
                                          "from ingest.cli.main import main; main()"),
        "run_job importable": lambda tree: ("from ingest import run_job" if _has_root_api(tree)
                                            else "from ingest.jobs import run_job"),
    }
    envs = [tree.env() for tree in trees]
    samples: list[dict[str, list[float]]] = [{name: [] for name in cases} for _ in trees]
    for _ in range(runs):
        for name, code in cases.items():
            for k, tree in enumerate(trees):
                samples[k][name].append(_seconds(tree, code(tree), envs[k]))
    return [{name: round(statistics.median(values), 3) for name, values in per_tree.items()}
            for per_tree in samples]


def _has_root_api(tree: Tree) -> bool:
    return "run_job" in (tree.root / "ingest" / "__init__.py").read_text(encoding="utf-8")


# --- import cycles ----------------------------------------------------------------------------------------------


def _imports(path: Path, static: bool) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) of each import in the file. ``static``: every import, also inside
    functions and ``if TYPE_CHECKING:`` (what a type checker or import-linter sees); otherwise only those that
    run when the file is imported."""
    found: list[tuple[str, list[str]]] = []

    def add(node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:  # the tree uses absolute imports only
            found.append((node.module or "", [a.name for a in node.names]))

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            add(node)
            if isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    module = ast.parse(path.read_text(encoding="utf-8"))
    if static:
        for node in ast.walk(module):
            if isinstance(node, ast.stmt):
                add(node)
    else:
        visit(module.body)
    return found


def cycles(tree: Tree, static: bool) -> dict[str, dict[str, object]]:
    """Per layer: strongly connected groups of files that import each other (see :func:`_imports`)."""
    by_name = {tree.module_name(p): p for layer in LAYERS for p in tree.layer_files(layer)}
    graph: dict[Path, set[Path]] = {}
    for path in by_name.values():
        targets = set()
        for module, names in _imports(path, static):
            # ``from a.b import c``: an edge to a/b/c.py when c is a module, else to a/b.
            submodules = [by_name[f"{module}.{n}"] for n in names if f"{module}.{n}" in by_name]
            targets.update(submodules)
            if module in by_name and (not names or len(submodules) < len(names)):
                targets.add(by_name[module])
        targets.discard(path)
        graph[path] = targets
    groups = [g for g in _strongly_connected(graph) if len(g) > 1]
    out = {}
    for layer in LAYERS:
        base = tree.root / layer
        mine = [sorted(str(p.relative_to(tree.root)) for p in g) for g in groups
                if all(base in p.parents for p in g)]
        out[layer] = {"cycles": len(mine), "files_in_cycles": sum(len(g) for g in mine),
                      "largest": max((len(g) for g in mine), default=0), "groups": mine}
    crossing = [g for g in groups if not any(all((tree.root / la) in p.parents for p in g) for la in LAYERS)]
    out["across layers"] = {"cycles": len(crossing), "files_in_cycles": sum(len(g) for g in crossing),
                            "largest": max((len(g) for g in crossing), default=0),
                            "groups": [sorted(str(p.relative_to(tree.root)) for p in g) for g in crossing]}
    return out


def _strongly_connected(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of nodes)."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    result: list[list[Path]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                result.append(group)
    return result


# --- report -----------------------------------------------------------------------------------------------------


def measure(roots: list[Path], runs: int, skip_mypy: bool) -> list[dict[str, object]]:
    """Every metric of each tree (import times measured side by side)."""
    trees = [Tree(root) for root in roots]
    reports: list[dict[str, object]] = []
    for tree in trees:
        report: dict[str, object] = {"tree": str(tree.root),
                                     "layout": "one import root" if tree.new_layout else "old"}
        report["sink_knowledge"] = sink_knowledge(tree)
        report["any"] = any_counts(tree)
        report["cycles"] = cycles(tree, static=False)
        report["static_cycles"] = cycles(tree, static=True)
        if not skip_mypy:
            report["mypy_strict"] = mypy_strict(tree)
        reports.append(report)
    for report, times in zip(reports, import_times(trees, runs), strict=True):
        report["import_s"] = times
    return reports


def render(report: dict[str, object]) -> str:
    """A short text form of :func:`measure`'s report."""
    lines = [f"tree {report['tree']} ({report['layout']} layout)"]
    sinks = report["sink_knowledge"]
    assert isinstance(sinks, dict)
    lines.append(f"files outside ingest/sinks that know sink kinds: {len(sinks['either'])} "
                 f"(scheme checks {len(sinks['scheme_checks'])}: {', '.join(sinks['scheme_checks']) or '-'}; "
                 f"concrete sink imports {len(sinks['concrete_sink_imports'])}: "
                 f"{', '.join(sinks['concrete_sink_imports']) or '-'})")
    anys = report["any"]
    assert isinstance(anys, dict)
    lines.append("Any at public boundaries / in total: " + ", ".join(
        f"{layer} {v['boundary']}/{v['total']}" for layer, v in anys.items())
        + f"; all {sum(v['boundary'] for v in anys.values())}/{sum(v['total'] for v in anys.values())}")
    for key, what in (("cycles", "at import time"), ("static_cycles", "static, incl. TYPE_CHECKING/in functions")):
        cyc = report[key]
        assert isinstance(cyc, dict)
        lines.append(f"import cycles {what} (groups/files in them/largest): " + ", ".join(
            f"{layer} {v['cycles']}/{v['files_in_cycles']}/{v['largest']}" for layer, v in cyc.items()))
    imports = report["import_s"]
    assert isinstance(imports, dict)
    lines.append("import time, median s: " + ", ".join(f"{k} {v}" for k, v in imports.items()))
    if "mypy_strict" in report:
        mp = report["mypy_strict"]
        assert isinstance(mp, dict)
        lines.append(f"mypy --strict errors: public API ({len(mp['public_modules'])} files) {mp['errors']} "
                     + json.dumps(mp["per_file"]) + f", whole package {mp['errors_whole_package']}; "
                     f"py.typed shipped: {mp['py_typed']}" + (f" CRASHED: {mp['crashed']}" if mp["crashed"] else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure each TREE and print the figures (``--json``: the whole reports)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", default=[str(Path(__file__).resolve().parent.parent)],
                        help="checkouts to measure (default: this one); several are measured side by side")
    parser.add_argument("--runs", type=int, default=7, help="subprocess runs per import time (median)")
    parser.add_argument("--skip-mypy", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reports = measure([Path(t) for t in args.trees], args.runs, args.skip_mypy)
    print(json.dumps(reports, indent=1) if args.json else "\n\n".join(render(r) for r in reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
