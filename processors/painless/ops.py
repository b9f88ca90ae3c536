"""Painless operator semantics (Java's integer division, string concatenation, null checks) and errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.document import java_type
from ingest.processors.template import java_string


def error(kind: str, reason: str) -> ElasticsearchError:
    status = 500 if kind == "painless_error" else 400
    return ElasticsearchError(reason, error_type=kind, status=status)


def npe(what: str) -> ElasticsearchError:
    return error("null_pointer_exception", f"Cannot invoke \"{what}\" because value is null")


def truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        raise npe("java.lang.Boolean.booleanValue()")
    raise error("class_cast_exception", f"Cannot cast [{java_type(value)}] to [java.lang.Boolean]")


def _numeric(a: Any, b: Any, op: str) -> None:
    for x in (a, b):
        if x is None:
            raise npe(f"Number.{op}")
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise error("class_cast_exception", f"Cannot apply [{op}] operation to type [{java_type(x)}]")


def _long(value: Any) -> Any:
    """Java's long overflow: integers wrap at 64 bits (Python's would grow without bound, in memory and time)."""
    if isinstance(value, int) and not -(1 << 63) <= value < (1 << 63):
        return ((value + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)
    return value


def add(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        return (java_string(a) if a is not None else "null") + (java_string(b) if b is not None else "null")
    _numeric(a, b, "+")
    return _long(a + b)


def _sub(a: Any, b: Any) -> Any:
    _numeric(a, b, "-")
    return _long(a - b)


def _mul(a: Any, b: Any) -> Any:
    _numeric(a, b, "*")
    return _long(a * b)


def _div(a: Any, b: Any) -> Any:
    _numeric(a, b, "/")
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise error("arithmetic_exception", "/ by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    return a / b if b else (math.copysign(math.inf, a) if a else math.nan)


def _mod(a: Any, b: Any) -> Any:
    _numeric(a, b, "%")
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise error("arithmetic_exception", "/ by zero")
        return int(math.fmod(a, b))
    return math.fmod(a, b)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _compare(op: str) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        if a is None or b is None:
            raise npe("Comparable.compareTo(Object)")
        try:
            return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])
        except TypeError:
            raise error("class_cast_exception", f"Cannot compare [{java_type(a)}] with [{java_type(b)}]") from None
    return cmp


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": _sub, "*": _mul, "/": _div, "%": _mod,
    "==": _eq, "!=": lambda a, b: not _eq(a, b), "===": lambda a, b: a is b or (_eq(a, b) and type(a) is type(b)),
    "!==": lambda a, b: not (a is b or (_eq(a, b) and type(a) is type(b))),
    "<": _compare("<"), ">": _compare(">"), "<=": _compare("<="), ">=": _compare(">="),
}


def get_index(obj: Any, key: Any) -> Any:
    """``obj[key]`` with Painless's errors (maps, lists; null and other types fail)."""
    if isinstance(obj, dict):
        return obj.get(key)
    if isinstance(obj, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise error("class_cast_exception", f"Cannot cast [{java_type(key)}] to [java.lang.Integer]")
        try:
            return obj[key]
        except IndexError:
            raise error("index_out_of_bounds_exception",
                         f"Index {key} out of bounds for length {len(obj)}") from None
    if obj is None:
        raise npe("Map.get(Object)")
    raise error("illegal_argument_exception", f"Attempting to address a non-array-like type [{java_type(obj)}] "
                                               "as an array.")
