"""Turning documents into rows of an embedded index and back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import orjson

from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.items import get_path, set_path
from ingest.sinks.bulk.vectors import VectorError, check_dense, check_sparse, from_db


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        raise TypeError("binary values must be base64 strings")
    raise TypeError(f"values of type [{type(value).__name__}] cannot be indexed")


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON for the ``_source`` column (TypeError/ValueError on values JSON cannot hold).

    orjson first (~10x faster than the standard encoder, once per document written); the standard encoder decides
    whenever orjson could differ: it writes NaN and infinities as ``null`` (refused here, as ``allow_nan=False``),
    and refuses non-string keys, integers beyond 64 bits and lone surrogates, which the standard one handles."""
    try:
        out = orjson.dumps(doc, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:  # orjson.JSONEncodeError included
        out = None
    if out is not None and b"null" not in out:
        return out.decode()
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)


def _without(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of ``doc`` without ``path``, copying only the objects on the way (the caller's doc is kept)."""
    if path in doc:
        return {k: v for k, v in doc.items() if k != path}
    head, _, rest = path.partition(".")
    child = doc.get(head)
    if not rest or not isinstance(child, dict):
        return doc
    pruned = _without(child, rest)
    out = dict(doc)
    if pruned:
        out[head] = pruned
    else:
        del out[head]
    return out


def split(doc: dict[str, Any], layout: dict[str, FieldHint], doc_id: str) -> tuple[str, dict[str, Any]]:
    """(``_source`` JSON without the mapped vector fields, {path: checked vector}); VectorError/TypeError if bad."""
    vectors: dict[str, Any] = {}
    rest = doc
    for path, hint in layout.items():
        found, value = get_path(doc, path)
        if not found or value is None:
            continue
        if hint.kind == "dense":
            vectors[path] = check_dense(path, value, int(hint.dims or 0), doc_id)
        else:
            vectors[path] = check_sparse(path, value, doc_id)
        rest = _without(rest, path)
    return dumps(rest), vectors


def join(source_json: str, layout: dict[str, FieldHint], values: dict[str, Any]) -> dict[str, Any]:
    """The full document: ``_source`` with the vector columns put back at their paths."""
    doc: dict[str, Any] = json.loads(source_json)
    for path, hint in layout.items():
        value = values.get(path)
        if value is not None:
            set_path(doc, path, from_db(hint, value))
    return doc


__all__ = ["VectorError", "dumps", "join", "split"]
