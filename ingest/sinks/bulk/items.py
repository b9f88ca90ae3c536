"""Elasticsearch-shaped per-item outcomes and document helpers shared by the sinks that apply ``_bulk``
semantics themselves (embedded, files)."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import ItemResult

_INVALID_INDEX_CHARS = set('\\/*?"<>| ,#:')
MAX_ID_BYTES = 512


@functools.lru_cache(maxsize=1024)
def index_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid Elasticsearch index name, or None when it is."""
    if not name:
        return "must not be empty"
    if name != name.lower():
        return "must be lowercase"
    bad = sorted(c for c in set(name) if c in _INVALID_INDEX_CHARS)
    if bad:
        return f"must not contain the following characters [{', '.join(bad)}]"
    if name[0] in "-_+":
        return "must not start with '_', '-', or '+'"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if len(name.encode()) > 255:
        return "index name is too long, (" + str(len(name.encode())) + " > 255)"
    return None


def invalid_index_name(name: str, problem: str) -> ElasticsearchError:
    """Elasticsearch's ``invalid_index_name_exception``."""
    return ElasticsearchError(
        f"Invalid index name [{name}], {problem}", status=400, error_type="invalid_index_name_exception",
        extra={"index_uuid": "_na_", "index": name},
    )


def index_not_found(index: str) -> ElasticsearchError:
    """Elasticsearch's ``index_not_found_exception`` (404)."""
    return ElasticsearchError(
        f"no such index [{index}]", status=404, error_type="index_not_found_exception",
        extra={"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index},
    )


def error_item(status: int, error_type: str, reason: str, index: str, doc_id: str | None,
               **extra: Any) -> ItemResult:
    """A failed item with Elasticsearch's error object."""
    error: dict[str, Any] = {"type": error_type, "reason": reason, "index_uuid": "_na_", "index": index, **extra}
    return ItemResult(status, error, id=doc_id)


def version_conflict(index: str, doc_id: str, version: int) -> ItemResult:
    """``create`` of an existing id."""
    return error_item(
        409, "version_conflict_engine_exception",
        f"[{doc_id}]: version conflict, document already exists (current version [{version}])",
        index, doc_id, shard="0",
    )


def seq_no_conflict(index: str, doc_id: str, if_seq_no: int, if_primary_term: int,
                    current: tuple[int, int] | None) -> ItemResult:
    """``if_seq_no``/``if_primary_term`` that do not match the stored document (``current``: its seq_no and
    primary term, None when there is no document)."""
    found = (" but no document was found" if current is None
             else f" current document has seqNo [{current[0]}] and primary term [{current[1]}]")
    return error_item(
        409, "version_conflict_engine_exception",
        f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_primary_term}].{found}",
        index, doc_id, shard="0",
    )


def external_version_conflict(index: str, doc_id: str, current: int, provided: int, version_type: str) -> ItemResult:
    """An external ``version`` not above (``external``) or below (``external_gte``) the stored one."""
    relation = "higher than" if version_type == "external_gte" else "higher or equal to"
    return error_item(
        409, "version_conflict_engine_exception",
        f"[{doc_id}]: version conflict, current version [{current}] is {relation} the one provided [{provided}]",
        index, doc_id, shard="0",
    )


def condition_problems(op: str, if_seq_no: int | None, if_primary_term: int | None, version: int | None,
                       version_type: str | None) -> list[str]:
    """Elasticsearch's validation of an action's versioning parameters (``DocWriteRequest``), as messages."""
    problems: list[str] = []
    kind = version_type or "internal"
    if kind not in ("internal", "external", "external_gte"):
        return [f"version type [{kind}] is not supported"]
    if op == "update" and kind != "internal":
        problems.append(f"version type [{kind.upper()}] is not supported by the update API")
    if op == "create" and kind != "internal":
        problems.append("create operations only support internal versioning. use index instead")
    if op == "create" and if_seq_no is not None:
        problems.append("create operations do not support compare and set. use index instead")
    if kind != "internal" and (version is None or version < 0):
        problems.append(f"illegal version value [{version if version is not None else -3}] for version type "
                        f"[{kind.upper()}]")
    if kind == "internal" and version is not None:
        problems.append("internal versioning can not be used for optimistic concurrency control. "
                        "Please use `if_seq_no` and `if_primary_term` instead")
    if if_seq_no is not None and (kind != "internal" or version is not None):
        problems.append("compare and write operations can not use versioning")
    if if_seq_no is not None and if_seq_no < 0:
        problems.append(f"sequence number must be non negative. got [{if_seq_no}].")
    if if_primary_term is not None and if_primary_term <= 0:
        problems.append(f"primary term must be positive. got [{if_primary_term}]")
    if if_seq_no is not None and if_primary_term is None:
        problems.append("ifSeqNo is set, but primary term is [0]")
    if if_primary_term is not None and if_seq_no is None:
        problems.append(f"ifSeqNo is unassigned, but primary term is [{if_primary_term}]")
    return problems


def document_missing(index: str, doc_id: str) -> ItemResult:
    """``update`` of a missing id without upsert."""
    return error_item(404, "document_missing_exception", f"[{doc_id}]: document missing", index, doc_id, shard="0")


def validation_failed(index: str, doc_id: str | None, problem: str) -> ItemResult:
    """``action_request_validation_exception`` for one item."""
    return error_item(400, "action_request_validation_exception", f"Validation Failed: 1: {problem};", index, doc_id)


def parsing_failed(index: str, doc_id: str | None, reason: str) -> ItemResult:
    """``document_parsing_exception``: the document does not fit the mapping."""
    return error_item(400, "document_parsing_exception", reason, index, doc_id)


def check_action(op: str, index: str, doc_id: str | None, source: Any, *, scripts: bool = False
                 ) -> ItemResult | None:
    """Request-level problems of one action (Elasticsearch's validation), or None when it is well formed.
    ``scripts``: the sink runs scripted updates (the embedded store)."""
    problem = index_name_problem(index)
    if problem is not None:
        err = invalid_index_name(index, problem)
        return ItemResult(err.status, err.cause_dict(), id=doc_id)
    if doc_id is not None and len(doc_id.encode()) > MAX_ID_BYTES:
        return validation_failed(
            index, doc_id, f"id [{doc_id}] is too long, must be no longer than 512 bytes but was: {len(doc_id.encode())}"
        )
    if op in ("update", "delete") and not doc_id:
        return validation_failed(index, doc_id, "id is missing")
    if op in ("index", "create") and not isinstance(source, dict):
        return validation_failed(index, doc_id, "source is missing")
    if op == "update":
        if not isinstance(source, dict):
            return validation_failed(index, doc_id, "script or doc is missing")
        if "script" in source and not scripts:
            return error_item(400, "illegal_argument_exception", "scripted updates are not supported by this sink",
                              index, doc_id)
        if "script" in source and "doc" in source:
            return validation_failed(index, doc_id, "can't provide both script and doc")
        if ("script" not in source and not isinstance(source.get("doc"), dict)
                and not isinstance(source.get("upsert"), dict)):
            return validation_failed(index, doc_id, "script or doc is missing")
    return None


def new_id() -> str:
    """An auto-generated document id (20 URL-safe characters, like Elasticsearch's)."""
    return secrets.token_urlsafe(15)


def merge_doc(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's partial-update merge: objects merged recursively, everything else replaced."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_doc(out[key], value)
        else:
            out[key] = value
    return out


def get_path(doc: dict[str, Any], path: str) -> tuple[bool, Any]:
    """Value at a dotted path (a literal dotted key wins, as in Elasticsearch's source lookup)."""
    if path in doc:
        return True, doc[path]
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def pop_path(doc: dict[str, Any], path: str) -> Any:
    """Remove and return the value at a dotted path (None when absent); empty parents are removed."""
    if path in doc:
        return doc.pop(path)
    parts = path.split(".")
    chain: list[dict[str, Any]] = [doc]
    for part in parts[:-1]:
        nxt = chain[-1].get(part)
        if not isinstance(nxt, dict):
            return None
        chain.append(nxt)
    value = chain[-1].pop(parts[-1], None)
    for parent, part in zip(reversed(chain[:-1]), reversed(parts[:-1]), strict=True):
        if parent[part]:
            break
        del parent[part]
    return value


def copy_path(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of ``doc`` whose objects along ``path`` are copies too (so the caller's doc is untouched)."""
    out = dict(doc)
    node = out
    for part in path.split(".")[:-1]:
        if not isinstance(node.get(part), dict):
            break
        node[part] = dict(node[part])
        node = node[part]
    return out


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at a dotted path, creating objects on the way."""
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[parts[-1]] = value
