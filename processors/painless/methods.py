"""The String / List / Map methods and static helpers the Painless subset supports."""

from __future__ import annotations

import math
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.document import java_type
from ingest.processors.painless.ops import get_index
from ingest.processors.template import java_string


def _err(kind: str, reason: str) -> ElasticsearchError:
    return ElasticsearchError(reason, error_type=kind, status=400)


def _str_methods(s: str, name: str, args: list[Any]) -> Any:
    n = len(args)
    if name == "contains" and n == 1:
        return _s(args[0]) in s
    if name == "startsWith" and n in (1, 2):
        return s.startswith(_s(args[0]), args[1] if n == 2 else 0)
    if name == "endsWith" and n == 1:
        return s.endswith(_s(args[0]))
    if name == "toLowerCase" and n == 0:
        return s.lower()
    if name == "toUpperCase" and n == 0:
        return s.upper()
    if name == "trim" and n == 0:
        return s.strip("".join(chr(c) for c in range(33)))
    if name == "strip" and n == 0:
        return s.strip()
    if name in ("length", "size") and n == 0:
        return len(s)
    if name == "isEmpty" and n == 0:
        return not s
    if name == "isBlank" and n == 0:
        return not s.strip()
    if name == "substring" and n in (1, 2):
        end = args[1] if n == 2 else len(s)
        if not 0 <= args[0] <= end <= len(s):
            raise _err("string_index_out_of_bounds_exception",
                       f"begin {args[0]}, end {end}, length {len(s)}")
        return s[args[0]:end]
    if name == "indexOf" and n in (1, 2):
        return s.find(_s(args[0]), args[1] if n == 2 else 0)
    if name == "lastIndexOf" and n == 1:
        return s.rfind(_s(args[0]))
    if name == "replace" and n == 2:
        return s.replace(_s(args[0]), _s(args[1]))
    if name == "splitOnToken" and n in (1, 2):
        parts = s.split(_s(args[0]))
        if n == 2 and args[1] > 0:
            parts = s.split(_s(args[0]), args[1] - 1)
        return parts
    if name == "equals" and n == 1:
        return s == args[0]
    if name == "equalsIgnoreCase" and n == 1:
        return isinstance(args[0], str) and s.lower() == args[0].lower()
    if name == "charAt" and n == 1:
        return s[args[0]]
    if name == "concat" and n == 1:
        return s + _s(args[0])
    if name == "compareTo" and n == 1:
        other = _s(args[0])
        return (s > other) - (s < other)
    if name == "toString" and n == 0:
        return s
    return _missing(s, name, n)


def _list_methods(items: list[Any], name: str, args: list[Any]) -> Any:
    n = len(args)
    if name == "contains" and n == 1:
        return args[0] in items
    if name in ("size", "length") and n == 0:
        return len(items)
    if name == "isEmpty" and n == 0:
        return not items
    if name == "get" and n == 1:
        return get_index(items, args[0])
    if name == "add" and n == 1:
        items.append(args[0])
        return True
    if name == "add" and n == 2:
        items.insert(args[0], args[1])
        return None
    if name == "addAll" and n == 1:
        items.extend(args[0])
        return True
    if name == "set" and n == 2:
        old = items[args[0]]
        items[args[0]] = args[1]
        return old
    if name == "remove" and n == 1:
        if isinstance(args[0], int) and not isinstance(args[0], bool):
            return items.pop(args[0])
        if args[0] in items:
            items.remove(args[0])
            return True
        return False
    if name == "indexOf" and n == 1:
        return items.index(args[0]) if args[0] in items else -1
    if name == "clear" and n == 0:
        items.clear()
        return None
    if name == "sort" and n == 1 and args[0] is None:
        items.sort()
        return None
    if name == "join" and n == 1:
        return _s(args[0]).join(java_string(i) for i in items)
    if name == "equals" and n == 1:
        return items == args[0]
    return _missing(items, name, n)


def _map_methods(m: dict[Any, Any], name: str, args: list[Any]) -> Any:
    n = len(args)
    if name == "containsKey" and n == 1:
        return args[0] in m
    if name == "containsValue" and n == 1:
        return args[0] in m.values()
    if name == "get" and n == 1:
        return m.get(args[0])
    if name == "getOrDefault" and n == 2:
        return m.get(args[0], args[1])
    if name == "put" and n == 2:
        old = m.get(args[0])
        m[args[0]] = args[1]
        return old
    if name == "putAll" and n == 1:
        m.update(args[0])
        return None
    if name == "remove" and n == 1:
        return m.pop(args[0], None)
    if name in ("size",) and n == 0:
        return len(m)
    if name == "isEmpty" and n == 0:
        return not m
    if name == "keySet" and n == 0:
        return list(m.keys())
    if name == "values" and n == 0:
        return list(m.values())
    if name == "clear" and n == 0:
        m.clear()
        return None
    if name == "equals" and n == 1:
        return m == args[0]
    return _missing(m, name, n)


def _s(value: Any) -> str:
    if value is None:
        raise _err("null_pointer_exception", "Cannot invoke \"Object.toString()\" because value is null")
    return value if isinstance(value, str) else java_string(value)


def _missing(receiver: Any, name: str, n: int) -> Any:
    raise _err("illegal_argument_exception", f"dynamic method [{java_type(receiver)}, {name}/{n}] not found")


def call_method(receiver: Any, name: str, args: list[Any]) -> Any:
    """``receiver.name(args)`` on the value's runtime type."""
    if receiver is None:
        raise _err("null_pointer_exception", f"Cannot invoke \"Object.{name}()\" because value is null")
    try:
        if isinstance(receiver, str):
            return _str_methods(receiver, name, args)
        if isinstance(receiver, list):
            return _list_methods(receiver, name, args)
        if isinstance(receiver, dict):
            return _map_methods(receiver, name, args)
        if name == "toString" and not args:
            return java_string(receiver)
        if name == "equals" and len(args) == 1:
            return receiver == args[0]
    except ElasticsearchError:
        raise
    except (TypeError, IndexError, ValueError) as exc:
        raise _err("illegal_argument_exception", f"[{name}] failed: {exc}") from None
    return _missing(receiver, name, len(args))


def _parse_int(text: Any) -> int:
    try:
        if not isinstance(text, str) or not text.strip("+-").isdigit():
            raise ValueError
        return int(text)
    except ValueError:
        raise _err("number_format_exception", f"For input string: \"{text}\"") from None


def _parse_float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise _err("number_format_exception", f"For input string: \"{text}\"") from None


def call_static(cls: str, name: str, args: list[Any]) -> Any:
    """``Math.max(...)``, ``Integer.parseInt(...)`` and friends."""
    try:
        if cls == "Math":
            fn: Any = {"abs": abs, "max": max, "min": min, "floor": math.floor, "ceil": math.ceil, "sqrt": math.sqrt,
                  "pow": math.pow, "log": math.log, "exp": math.exp,
                  "round": lambda x: math.floor(x + 0.5)}[name]
            result = fn(*args)
            return float(result) if name in ("floor", "ceil") else result
        if name in ("parseInt", "parseLong"):
            return _parse_int(args[0])
        if name in ("parseDouble", "parseFloat"):
            return _parse_float(args[0])
        if name == "parseBoolean":
            return isinstance(args[0], str) and args[0].lower() == "true"
        if name in ("valueOf", "toString"):
            if cls in ("Integer", "Long"):
                return _parse_int(args[0]) if isinstance(args[0], str) else args[0]
            if cls in ("Double", "Float"):
                return _parse_float(args[0])
            return java_string(args[0]) if args[0] is not None else "null"
        if cls == "String" and name == "join":
            return _s(args[0]).join(java_string(x) for x in args[1])
        if cls == "Objects":
            if name == "equals":
                return args[0] == args[1]
            if name == "isNull":
                return args[0] is None
            if name == "nonNull":
                return args[0] is not None
            raise KeyError(name)  # reported as the other failed calls are
    except ElasticsearchError:
        raise
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise _err("illegal_argument_exception", f"[{cls}.{name}] failed: {exc}") from None
    raise _err("illegal_argument_exception", f"unknown static method [{cls}.{name}]")


def cast(type_name: str, value: Any) -> Any:
    """``(int) x`` and friends."""
    if value is None:
        return None
    if type_name in ("int", "long", "short", "byte", "Integer", "Long"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    elif type_name in ("double", "float", "Double", "Float"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif type_name == "String":
        if isinstance(value, str):
            return value
    else:
        return value
    raise _err("class_cast_exception", f"Cannot cast [{java_type(value)}] to [{type_name}]")
