"""Elasticsearch's ``_bulk`` request body: NDJSON lines into actions (``BulkLine``), each line's error kept for
its item (an unparsable line fails that item alone, as Elasticsearch answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest.jobs.documents import id_error
from ingest.models import jsonparse
from ingest.models.errors import (
    ActionRequestValidationException,
    DocumentParsingException,
    ElasticsearchError,
    IllegalArgumentException,
    ParsingException,
)

OPS = ("index", "create", "update", "delete")


@dataclass
class BulkLine:
    """One parsed action: op, metadata, body (None for delete), and the error refusing this item alone."""

    op: str
    index: str | None
    id: str | None
    pipeline: str | None
    body: dict[str, Any] | None
    error: ElasticsearchError | None = None
    conditions: dict[str, Any] = field(default_factory=dict)  # if_seq_no, if_primary_term, version, version_type


def parse_bulk(raw: bytes, default_index: str | None) -> list[BulkLine]:
    """Parse bulk NDJSON. Malformed action lines fail the request (as in Elasticsearch); a bad ``_id`` or
    source fails only its item."""
    if raw and not raw.endswith(b"\n"):
        raise IllegalArgumentException("The bulk request must be terminated by a newline [\\n]")
    lines = [ln for ln in raw.split(b"\n") if ln.strip()]
    out: list[BulkLine] = []
    i = 0
    while i < len(lines):
        number = i + 1
        op, meta = _action(lines[i], number)
        body, error = None, None
        if op != "delete":
            i += 1
            if i >= len(lines):
                raise IllegalArgumentException(f"Malformed action/metadata line [{number}], no source for it")
            body, error = _source(lines[i])
        doc_id, bad_id = _doc_id(meta.get("_id"), number)
        if jsonparse.may_hold_lone_surrogate(lines[i - (op != "delete")]) and jsonparse.lone_surrogate(meta):
            bad_id = IllegalArgumentException(
                f"Malformed action/metadata line [{number}], a value holds an unpaired UTF-16 surrogate")
            doc_id = None
        index = meta.get("_index") or default_index
        conditions, bad_condition = _conditions(meta, number)
        out.append(BulkLine(op, index, doc_id, meta.get("pipeline"), body, bad_id or bad_condition or error,
                            conditions))
        i += 1
    if not out:
        raise ActionRequestValidationException(["no requests added"])
    return out


def _action(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    try:
        action = jsonparse.loads(line)
    except ParsingException as exc:
        if "nesting depth" in exc.reason:
            raise
        raise IllegalArgumentException(f"Malformed action/metadata line [{number}], {exc.reason}") from None
    if not isinstance(action, dict) or len(action) != 1:
        raise IllegalArgumentException(
            f"Malformed action/metadata line [{number}], expected START_OBJECT or END_OBJECT"
        )
    op, meta = next(iter(action.items()))
    if op not in OPS:
        raise IllegalArgumentException(
            f"Malformed action/metadata line [{number}], expected field [create], [delete], [index] or "
            f"[update] but found [{op}]"
        )
    if not isinstance(meta, dict):
        raise IllegalArgumentException(f"Malformed action/metadata line [{number}], expected START_OBJECT")
    return op, meta


CONDITIONS = ("if_seq_no", "if_primary_term", "version")


def _conditions(meta: dict[str, Any], number: int) -> tuple[dict[str, Any], ElasticsearchError | None]:
    """The action's versioning metadata (numbers, and ``version_type``), or the item's error."""
    out: dict[str, Any] = {}
    for key in CONDITIONS:
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
            return {}, IllegalArgumentException(
                f"Malformed action/metadata line [{number}], failed to parse [{key}] with value [{value}]")
        out[key] = int(value)
    if meta.get("version_type") is not None:
        out["version_type"] = str(meta["version_type"]).lower()
    return out, None


def _source(line: bytes) -> tuple[dict[str, Any] | None, ElasticsearchError | None]:
    """The parsed source of an index/create/update line, or the item's ``document_parsing_exception``."""
    try:
        body = jsonparse.loads(line)
    except ParsingException as exc:
        return None, DocumentParsingException(f"failed to parse: {exc.reason}")
    if not isinstance(body, dict):
        return None, DocumentParsingException("[1:1] Malformed content, must start with an object")
    if jsonparse.may_hold_lone_surrogate(line):
        bad = jsonparse.lone_surrogate(body)
        if bad is not None:
            preview = bad[:64].encode("utf-8", "backslashreplace").decode()
            return None, DocumentParsingException(
                f"failed to parse: the string [{preview}] holds an unpaired UTF-16 surrogate, which is not valid "
                "Unicode text"
            )
    return body, None


def _doc_id(raw: Any, number: int) -> tuple[str | None, ElasticsearchError | None]:
    """The action's ``_id`` as Elasticsearch reads it: numbers and booleans as their JSON text."""
    if raw is None:
        return None, None
    if isinstance(raw, (dict, list)):
        token = "START_OBJECT" if isinstance(raw, dict) else "START_ARRAY"
        return None, IllegalArgumentException(
            f"Malformed action/metadata line [{number}], expected a simple value for field [_id] but found [{token}]"
        )
    doc_id = raw if isinstance(raw, str) else json.dumps(raw)
    return doc_id, id_error(doc_id)
