"""Count ``Any`` in a layer: every use, and the uses in public function signatures (the joins).

``python -m bench.any_count models`` prints ``files``, ``any_total`` (every ``Any`` name in the code, as ``grep -w``
would count it minus comments and strings) and ``any_public_signatures`` (``Any`` inside a parameter or return
annotation of a public function or method: neither it nor its class starts with ``_``), then the public
signatures that still hold one, by file.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path


def _anys(node: ast.AST | None) -> int:
    """How many times ``Any`` (or ``typing.Any``) occurs in an annotation, string annotations included."""
    if node is None:
        return 0
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _anys(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return 0
    count = 0
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Name) and sub.id == "Any") or (isinstance(sub, ast.Attribute) and sub.attr == "Any"):
            count += 1
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub is not node:
            count += _anys(sub)
    return count


def _public_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level public functions and the public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            yield node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    not item.name.startswith("_") or item.name == "__init__"
                ):
                    yield item


def _signature_anys(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = fn.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return _anys(fn.returns) + sum(_anys(p.annotation) for p in params if p is not None)


def count(root: Path) -> tuple[int, int, int, list[str]]:
    """(files, every ``Any``, ``Any`` in public signatures, the offending signatures as ``file:line name``)."""
    files = total = public = 0
    where: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        files += 1
        total += sum(
            1 for n in ast.walk(tree)
            if (isinstance(n, ast.Name) and n.id == "Any") or (isinstance(n, ast.Attribute) and n.attr == "Any")
        ) + sum(_anys(n) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                and _looks_like_annotation(n.value))
        for fn in _public_functions(tree):
            n = _signature_anys(fn)
            if n:
                public += n
                where.append(f"{path}:{fn.lineno} {fn.name} ({n})")
    return files, total, public, where


def _looks_like_annotation(text: str) -> bool:
    # string annotations ("dict[str, Any]") only; docstrings and messages are not code
    return "Any" in text and len(text) < 80 and "\n" not in text and " " not in text.replace(", ", ",")


def main(argv: list[str]) -> None:
    """Print the counts for each folder given (default: models)."""
    for folder in argv or ["models"]:
        files, total, public, where = count(Path(folder))
        print(f"{folder}: files={files} any_total={total} any_public_signatures={public}")
        for line in where:
            print("  " + line)


if __name__ == "__main__":
    main(sys.argv[1:])
