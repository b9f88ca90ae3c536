"""Elasticsearch's dynamic mapping for the embedded store: the first value seen of a field fixes its type,
later values are coerced to it the way Elasticsearch does, and what Elasticsearch rejects is rejected per item.

Types given on first sight (``dynamic: true``, ``date_detection: true``, ``numeric_detection: false``):
``boolean``, ``long`` (integers), ``float`` (other numbers), ``date`` (strings matching the default
``dynamic_date_formats``: ``strict_date_optional_time`` and ``yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z``), ``text``
(other strings, with a ``keyword`` sub-field), ``object`` (JSON objects). ``null`` and ``[]`` add nothing.

Coercion, as Elasticsearch's field mappers do it: any scalar goes into ``text`` (numbers and booleans as their
text); numeric strings go into ``long``/``float`` (``"1.5"`` into a ``long`` is truncated, as ``coerce`` does);
``"true"``, ``"false"`` and ``""`` into ``boolean``; numbers (epoch millis) and parseable strings into ``date``.
``_source`` keeps the value as sent, as in Elasticsearch. The mapping is only about acceptance here: the
embedded store searches vectors, not these fields. Reasons are Elasticsearch's without its ``[line:col]`` prefix:
the position in the client's JSON is not known after the pipeline.
"""

from __future__ import annotations

import math
import re
from typing import Any

Properties = dict[str, dict[str, Any]]

_TIME = r"(?:T\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d{1,9})?)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_ISO = re.compile(r"[+-]?\d{4,9}(?:-\d{2}(?:-\d{2}" + _TIME + r")?)?")
_ISO_DETECT = re.compile(r"\d{4}-\d{2}-\d{2}" + _TIME)  # detection wants at least a full date
_SLASHED = re.compile(r"\d{4}/\d{2}/\d{2}(?: \d{2}:\d{2}:\d{2})?(?: (?:Z|[+-]\d{4}))?")
ISO_FORMAT = "strict_date_optional_time||epoch_millis"
SLASHED_FORMAT = "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_FLOAT_MAX = 3.4028234663852886e38
# explicit mappings (``PUT /{index}`` / ``_mapping``): the integer types' ranges and names in Elasticsearch's messages
_INTEGERS = {"long": (_LONG_MIN, _LONG_MAX, "a long"), "integer": (-(2**31), 2**31 - 1, "an integer"),
             "short": (-(2**15), 2**15 - 1, "a short"), "byte": (-128, 127, "a byte")}
_FLOATS = {"float": _FLOAT_MAX, "half_float": 65504.0, "double": 1.7976931348623157e308}
# mapped by the store elsewhere (vector columns) or placeholders for the search issue: any value is accepted here
OPAQUE_TYPES = frozenset({"dense_vector", "sparse_vector", "semantic_text", "knn_vector", "rank_features",
                          "flattened", "wildcard", "match_only_text", "ip", "geo_point", "binary"})


class MappingError(ValueError):
    """A value the mapping rejects: ``document_parsing_exception`` with an optional cause."""

    def __init__(self, reason: str, cause: dict[str, str] | None = None, error_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.cause, self.error_type = reason, cause, error_type


def _detect_date(text: str) -> str | None:
    if _ISO_DETECT.fullmatch(text) and _valid_date(text):
        return ISO_FORMAT
    if _SLASHED.fullmatch(text) and _valid_date(text.replace("/", "-")):
        return SLASHED_FORMAT
    return None


def _valid_date(text: str) -> bool:
    """Month 1-12 and day 1-31 (the regexes only check digits)."""
    parts = re.match(r"[+-]?\d{4,9}(?:-(\d{2}))?(?:-(\d{2}))?", text)
    if parts is None:
        return False
    month, day = parts.group(1), parts.group(2)
    return (month is None or 1 <= int(month) <= 12) and (day is None or 1 <= int(day) <= 31)


def _new_type(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "long"}
    if isinstance(value, float):
        return {"type": "float"}
    if isinstance(value, str):
        fmt = _detect_date(value)
        if fmt is not None:
            return {"type": "date"} if fmt == ISO_FORMAT else {"type": "date", "format": SLASHED_FORMAT}
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    raise MappingError(f"cannot map a value of type [{type(value).__name__}]")


def _preview(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _failed(path: str, mapped: dict[str, Any], doc_id: str, value: Any, cause_type: str, cause: str) -> MappingError:
    return MappingError(
        f"failed to parse field [{path}] of type [{mapped['type']}] in document with id '{doc_id}'. "
        f"Preview of field's value: '{_preview(value)}'",
        {"type": cause_type, "reason": cause},
    )


def _check_number(path: str, mapped: dict[str, Any], value: Any, doc_id: str) -> None:
    if isinstance(value, bool):
        token = "VALUE_TRUE" if value else "VALUE_FALSE"
        raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                      f"Current token ({token}) not numeric, can not use numeric value accessors")
    number: float
    if isinstance(value, int | float):
        number = value
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            # integers: Elasticsearch's own parser (illegal_argument_exception); floats: Java's (number_format_exception)
            cause = "illegal_argument_exception" if mapped["type"] in _INTEGERS else "number_format_exception"
            raise _failed(path, mapped, doc_id, value, cause, f'For input string: "{value}"') from None
    if mapped["type"] in _INTEGERS:
        low, high, name = _INTEGERS[mapped["type"]]
        if math.isnan(number) or math.isinf(number) or not low <= number <= high:
            raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                          f"Value [{value}] is out of range for {name}")
    elif math.isinf(number) or math.isnan(number) or abs(number) > _FLOATS.get(mapped["type"], _FLOAT_MAX):
        raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                      f"[{mapped['type']}] supports only finite values, but got [{value}]")


def _check_value(path: str, mapped: dict[str, Any], value: Any, doc_id: str) -> None:
    kind = mapped["type"]
    if kind in OPAQUE_TYPES:
        return
    if kind in ("object", "nested"):
        raise MappingError(f"object mapping for [{path}] tried to parse field [{path.rsplit('.', 1)[-1]}] as object, "
                           "but found a concrete value")
    if isinstance(value, dict):
        raise _failed(path, mapped, doc_id, value, "illegal_state_exception", "Can't get text on a START_OBJECT")
    if kind in ("text", "keyword"):
        return
    if kind in _INTEGERS or kind in _FLOATS or kind == "scaled_float":
        _check_number(path, mapped, value, doc_id)
    elif kind == "boolean":
        if isinstance(value, bool) or value in ("true", "false", ""):
            return
        if isinstance(value, str):
            raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                          f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
        raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                      f"Failed to parse value [{_preview(value)}] as only [true] or [false] are allowed.")
    elif kind == "date":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return  # epoch_millis
        fmt = mapped.get("format", ISO_FORMAT)
        text = value if isinstance(value, str) else None
        ok = text is not None and (
            (_ISO.fullmatch(text) is not None and _valid_date(text)) if fmt == ISO_FORMAT
            else (_SLASHED.fullmatch(text) is not None and _valid_date(text.replace("/", "-"))))
        if not ok and text is not None and re.fullmatch(r"-?\d+", text):
            ok = True  # epoch_millis as a string
        if not ok:
            raise _failed(path, mapped, doc_id, value, "illegal_argument_exception",
                          f"failed to parse date field [{_preview(value)}] with format [{fmt}]")


class _Walk:
    """One document's pass over the properties; remembers what it added so a rejected document adds nothing."""

    def __init__(self, doc_id: str, skip: set[str]) -> None:
        self.doc_id, self.skip = doc_id, skip
        self.added: list[tuple[Properties, str]] = []

    def add(self, props: Properties, key: str, mapped: dict[str, Any]) -> dict[str, Any]:
        props[key] = mapped
        self.added.append((props, key))
        return mapped

    def undo(self) -> None:
        for props, key in reversed(self.added):
            props.pop(key, None)


def _may_add(prefix: str, key: str, dynamic: str) -> bool:
    """Whether a new field may be mapped under ``dynamic`` (``true``/``runtime``: yes; ``false``: it stays in
    ``_source`` unmapped; ``strict``: the document is refused, with Elasticsearch's message)."""
    if dynamic == "strict":
        within = prefix[:-1] if prefix else "_doc"
        raise MappingError(f"mapping set to strict, dynamic introduction of [{key}] within [{within}] is not allowed",
                           error_type="strict_dynamic_mapping_exception")
    return dynamic != "false"


def _walk(obj: dict[str, Any], props: Properties, prefix: str, w: _Walk, dynamic: str = "true") -> None:
    for raw_key, value in obj.items():
        if value is None or (not prefix and raw_key == "_inference_fields"):
            continue  # null adds nothing; _inference_fields is metadata (semantic_text's chunks)
        key = raw_key if isinstance(raw_key, str) else str(raw_key)
        here, where, inherited = props, prefix, dynamic
        if "." in key:  # a dotted key is the same as nested objects, as in Elasticsearch
            *parents, key = key.split(".")
            unmapped = False  # a parent object that ``dynamic: false`` keeps out of the mapping
            for part in parents:
                node = here.get(part)
                if node is None:
                    if not _may_add(where, part, inherited):
                        unmapped = True
                        break
                    node = w.add(here, part, {"type": "object", "properties": {}})
                where = f"{where}{part}"
                if node["type"] not in ("object", "nested"):
                    raise MappingError(f"Could not dynamically add mapping for field [{where}.{key}]. Existing "
                                       f"mapping for [{where}] must be of type object but found [{node['type']}].")
                inherited = str(node.get("dynamic", inherited))
                here, where = node.setdefault("properties", {}), where + "."
            if unmapped:
                continue
        if w.skip and where + key in w.skip:
            continue
        _field(where, key, value, here, w, inherited)


def _field(prefix: str, key: str, value: Any, props: Properties, w: _Walk, dynamic: str = "true") -> None:
    """One value of the field ``prefix + key`` (the path is only built when needed: errors, objects)."""
    kind_of = type(value)
    if kind_of is list:
        for item in value:
            if item is not None:
                _field(prefix, key, item, props, w, dynamic)
        return
    mapped = props.get(key)
    if mapped is None:
        if not _may_add(prefix, key, dynamic):
            return
        if isinstance(value, dict):
            mapped = w.add(props, key, {"type": "object", "properties": {}})
            _walk(value, mapped["properties"], prefix + key + ".", w, dynamic)
        else:
            w.add(props, key, _new_type(value))
        return
    kind = mapped["type"]
    # fast paths for the common agreeing cases; everything else goes through _check_value
    if kind == "text" and kind_of is str:
        return
    if kind_of is int or kind_of is float:
        if kind == "long" and _LONG_MIN <= value <= _LONG_MAX:
            return
        if kind == "float" and math.isfinite(value) and abs(value) <= _FLOAT_MAX:
            return
    if kind in ("object", "nested") and isinstance(value, dict):
        inner = str(mapped.get("dynamic", dynamic))
        _walk(value, mapped.setdefault("properties", {}), prefix + key + ".", w, inner)
        return
    if isinstance(value, list):  # a list subclass
        for item in value:
            if item is not None:
                _field(prefix, key, item, props, w, dynamic)
        return
    _check_value(prefix + key, mapped, value, w.doc_id)


def map_document(doc: dict[str, Any], properties: Properties, doc_id: str, skip: set[str] | None = None,
                 dynamic: str = "true") -> bool:
    """Check ``doc`` against ``properties`` and add the fields it introduces, in place; True if it added any.
    ``dynamic`` is the root mapping's setting (``true``, ``false``, ``strict``; objects may set their own).

    A rejected document raises :class:`MappingError` and leaves ``properties`` as they were.
    """
    walk = _Walk(doc_id, skip or set())
    try:
        _walk(doc, properties, "", walk, dynamic)
    except MappingError:
        walk.undo()
        raise
    return bool(walk.added)
