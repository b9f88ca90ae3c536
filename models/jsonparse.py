"""JSON parsing with Elasticsearch's limits: nesting depth (Jackson's 1000 levels) and lone surrogates.

Python's decoder recurses, so a deeply nested body would otherwise end in ``RecursionError`` (a 500). Its
stack gives out a little before 1000 levels, so the depth is only scanned (for Elasticsearch's message and
position) after the decoder has given up: well-formed text pays nothing.

orjson parses first (4-5x faster than the standard decoder, which ``_bulk`` pays twice per document). It is only
trusted where it agrees with the standard decoder: text that cannot nest past the limit (orjson's own is 1024) and
holds no run of 19 digits (orjson turns integers beyond 64 bits into floats; Python keeps them exact, as
Elasticsearch's parser does). Anything orjson refuses (NaN, lone surrogates, a byte-order mark, malformed text) goes
to the standard decoder, which decides and words the error as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from ingest.models.errors import ParsingException

MAX_NESTING_DEPTH = 1000  # Jackson's StreamReadConstraints default, which Elasticsearch keeps
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_OPEN = frozenset(b"[{")
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _location(raw: bytes, pos: int) -> str:
    line = raw.count(b"\n", 0, pos) + 1
    column = pos - raw.rfind(b"\n", 0, pos)
    return f"[{line}:{column}]"


def depth_error(raw: bytes, max_depth: int = MAX_NESTING_DEPTH) -> ParsingException | None:
    """The ``x_content_parse_exception`` for a text nested deeper than ``max_depth``, else None."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return None
    depth = 0
    for match in _STRUCTURE.finditer(raw):
        char = match.group()[0]
        if char in _OPEN:
            depth += 1
            if depth > max_depth:
                return ParsingException(
                    f"{_location(raw, match.start())} Document nesting depth ({depth}) exceeds the maximum allowed "
                    f"({max_depth}, from `StreamReadConstraints.getMaxNestingDepth()`)",
                    error_type="x_content_parse_exception",
                )
        elif char != ord('"'):
            depth -= 1
    return None


def nesting_depth(value: Any) -> int:
    """How deeply a parsed value nests objects and arrays (without recursing)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_NESTING_DEPTH) -> Any:
    """Parse JSON, raising Elasticsearch's ``x_content_parse_exception`` (400) for malformed or too deep text."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= max_depth and _LONG_NUMBER.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard decoder decides, with its messages
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise ParsingException("request body is not valid UTF-8", error_type="x_content_parse_exception") from None
    except json.JSONDecodeError as exc:
        raise ParsingException(f"[{exc.lineno}:{exc.colno}] Unexpected character: {exc.msg}",
                               error_type="x_content_parse_exception") from None
    except RecursionError:
        pass
    # Outside the except block, so that the scan does not run on a stack that has just overflowed.
    raise depth_error(data, max_depth) or ParsingException(  # within the limit, but deeper than the stack allows
        f"Document nesting depth exceeds what this server can parse (limit {max_depth})",
        error_type="x_content_parse_exception",
    )


def may_hold_lone_surrogate(raw: bytes) -> bool:
    """Whether JSON text has a ``\\uD800``–``\\uDFFF`` escape (the only way a lone surrogate gets in)."""
    return _SURROGATE_ESCAPE.search(raw) is not None


def well_formed(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings replaced by U+FFFD, as the local models' tokenizer does
    (valid pairs are joined); the same object when nothing needed replacing."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return value
    if isinstance(value, list):
        return [well_formed(v) for v in value]
    if isinstance(value, dict):
        return {well_formed(k): well_formed(v) for k, v in value.items()}
    return value


def lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) in a parsed JSON value holding an unpaired surrogate, else None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
