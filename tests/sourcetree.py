"""Parsing the project's own source files in tests."""

from __future__ import annotations

import ast
import gc
from pathlib import Path


def parse_file(path: Path) -> ast.Module:
    """``ast.parse`` of ``path``, retried on CPython 3.11's "AST constructor recursion depth mismatch"
    (gh-106905: the AST conversion kept its depth in state shared by every thread, so other Python code running
    during a parse — a background thread, a finalizer run by the garbage collector — could upset it). A fresh
    clone's test run hit it once in ``test_layering``; the file itself parses fine."""
    text = path.read_text(encoding="utf-8")
    for attempt in range(5):
        gc.disable()  # no finalizers run Python code in the middle of the conversion
        try:
            return ast.parse(text, filename=str(path))
        except SystemError:
            if attempt == 4:
                raise
        finally:
            gc.enable()
    raise AssertionError("unreachable")
