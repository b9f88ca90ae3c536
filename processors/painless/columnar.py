"""Columnar evaluation of simple scripts: ``ctx.a = <arithmetic / concatenation of ctx fields and literals>``.

Only forms whose Arrow result is exactly what the interpreter would produce per document are compiled: plain
top-level fields without nulls (a missing field would be a null_pointer_exception per document), checked
arithmetic (overflow falls back), division only in floating point, concatenation of strings only.
Anything else returns None and the script runs per document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.processors.document import METADATA_KEYS
from ingest.processors.painless.parser import Node

Value = tuple[Any, str]  # (array or scalar, kind: "int" | "float" | "str")
Program = Callable[[pa.Table], pa.Table | None]


def _kind(dtype: pa.DataType) -> str | None:
    if pa.types.is_integer(dtype):
        return "int"
    if pa.types.is_floating(dtype):
        return "float"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "str"
    return None


def _ctx_field(node: Node) -> str | None:
    if node.kind == "field" and not node.args[2] and node.args[0].kind == "var" and node.args[0].args[0] == "ctx":
        name = node.args[1]
    elif node.kind == "index" and node.args[0].kind == "var" and node.args[0].args[0] == "ctx" and \
            node.args[1].kind == "literal" and isinstance(node.args[1].args[0], str):
        name = node.args[1].args[0]
    else:
        return None
    return None if name in METADATA_KEYS else name


class _Unsupported(Exception):
    pass


def _eval(node: Node, table: pa.Table) -> Value:
    name = _ctx_field(node)
    if name is not None:
        if name not in table.column_names or table.column(name).null_count:
            raise _Unsupported
        column = table.column(name)
        kind = _kind(column.type)
        if kind is None:
            raise _Unsupported
        return column, kind
    if node.kind == "literal":
        value = node.args[0]
        if isinstance(value, bool) or value is None:
            raise _Unsupported
        kind = "int" if isinstance(value, int) else "float" if isinstance(value, float) else "str"
        return value, kind
    if node.kind == "binary" and node.args[0] in ("+", "-", "*", "/"):
        op = node.args[0]
        left, right = _eval(node.args[1], table), _eval(node.args[2], table)
        kinds = {left[1], right[1]}
        if "str" in kinds:
            if op != "+" or kinds != {"str"}:
                raise _Unsupported
            return pc.binary_join_element_wise(left[0], right[0], ""), "str"
        if op == "/":
            if kinds == {"int"}:
                raise _Unsupported  # Java integer division: leave it to the interpreter
            return pc.divide(_as_float(left), _as_float(right)), "float"
        fn = {"+": pc.add_checked, "-": pc.subtract_checked, "*": pc.multiply_checked}[op]
        return fn(left[0], right[0]), "float" if "float" in kinds else "int"
    raise _Unsupported


def _as_float(value: Value) -> Any:
    data, kind = value
    if kind == "int":
        return data.cast(pa.float64()) if isinstance(data, pa.ChunkedArray) else float(data)
    return data


def compile_columnar(tree: Node) -> Program | None:
    """A table → table function for scripts made only of simple field assignments, else None."""
    if tree.kind != "block" or not tree.args[0]:
        return None
    steps: list[tuple[str, Node]] = []
    for stmt in tree.args[0]:
        if stmt.kind != "expr" or stmt.args[0].kind != "assign" or stmt.args[0].args[0] != "=":
            return None
        target = _ctx_field(stmt.args[0].args[1])
        if target is None:
            return None
        steps.append((target, stmt.args[0].args[2]))

    def run(table: pa.Table) -> pa.Table | None:
        for target, expr in steps:
            try:
                data, _ = _eval(expr, table)
            except (_Unsupported, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return None
            if not isinstance(data, (pa.ChunkedArray, pa.Array)):
                data = pa.array([data] * table.num_rows)
            if target in table.column_names:
                table = table.set_column(table.column_names.index(target), target, data)
            else:
                table = table.append_column(target, data)
        return table
    return run


_COMPARE = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, ">": pc.greater, "<=": pc.less_equal,
            ">=": pc.greater_equal}


def _mask(node: Node, table: pa.Table) -> Any:
    """A boolean array (no nulls) for a condition, or raise _Unsupported."""
    if node.kind == "and":
        return pc.and_(_mask(node.args[0], table), _mask(node.args[1], table))
    if node.kind == "or":
        return pc.or_(_mask(node.args[0], table), _mask(node.args[1], table))
    if node.kind == "unary" and node.args[0] == "!":
        return pc.invert(_mask(node.args[1], table))
    if node.kind == "binary" and node.args[0] in ("==", "!=") and any(
            side.kind == "literal" and side.args[0] is None for side in node.args[1:]):
        other = node.args[2] if node.args[1].kind == "literal" else node.args[1]
        name = _ctx_field(other)
        if name is None:
            raise _Unsupported
        is_null = (pc.is_null(table.column(name)) if name in table.column_names
                   else pa.array([True] * table.num_rows))
        return is_null if node.args[0] == "==" else pc.invert(is_null)
    if node.kind == "binary" and node.args[0] in _COMPARE:
        left, right = _eval(node.args[1], table), _eval(node.args[2], table)
        if (left[1] == "str") != (right[1] == "str"):
            raise _Unsupported  # Painless compares across types differently from Arrow
        return _COMPARE[node.args[0]](left[0], right[0])
    raise _Unsupported


def compile_condition(tree: Node) -> Callable[[pa.Table], Any] | None:
    """A table → boolean-mask function for simple conditions (comparisons, null checks, &&, ||, !), else None."""
    if tree.kind != "block" or len(tree.args[0]) != 1:
        return None
    stmt = tree.args[0][0]
    if stmt.kind not in ("expr", "return") or stmt.args[0] is None:
        return None
    expr = stmt.args[0]

    def run(table: pa.Table) -> Any:
        try:
            mask = _mask(expr, table)
        except (_Unsupported, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        if isinstance(mask, pa.ChunkedArray | pa.Array) and mask.null_count:
            return None
        return mask
    return run
