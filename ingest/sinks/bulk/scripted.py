"""Scripted updates (``_update`` and ``_update_by_query`` with ``script``) over the Painless subset.

The script sees Elasticsearch's update context: ``ctx._source`` (a copy of the document, changed in place),
``ctx.op`` (``index``; ``create`` for a scripted upsert; set it to ``noop``/``none`` or ``delete``),
``ctx._index``, ``ctx._id``, ``ctx._version``, ``ctx._routing``, ``ctx._now`` and ``params``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.processors.painless.errors import runtime_error
from ingest.processors.painless.interp import compile_node, run_program
from ingest.processors.painless.parser import parse


@dataclass(frozen=True)
class ScriptOutcome:
    """What the script decided: ``op`` is ``index``, ``create``, ``noop`` or ``delete``; ``source`` the new
    document."""

    op: str
    source: dict[str, Any]


def script_spec(script: Any) -> tuple[str, dict[str, Any]]:
    """The source and params of a request's ``script`` (a string, or ``{"source", "params", "lang"}``)."""
    if isinstance(script, str):
        return script, {}
    if not isinstance(script, dict):
        raise IllegalArgumentException("[script] must be a string or an object")
    if "id" in script:
        raise IllegalArgumentException("stored scripts are not supported: send the script's [source]")
    lang = script.get("lang", "painless")
    if lang != "painless":
        raise IllegalArgumentException(f"script_lang not supported [{lang}]")
    source, params = script.get("source"), script.get("params") or {}
    if not isinstance(source, str):
        raise IllegalArgumentException("must specify either [source] for an inline script or [id] for a stored script")
    if not isinstance(params, dict):
        raise IllegalArgumentException("[params] must be an object")
    return source, params


def run_update_script(script: Any, source: dict[str, Any], *, op: str, index: str, doc_id: str,
                      version: int | None) -> ScriptOutcome:
    """Run ``script`` on a copy of ``source``; raises Elasticsearch's ``failed to execute script`` (400)."""
    try:
        text, params = script_spec(script)
        program = compile_node(parse(text))
        ctx: dict[str, Any] = {"_source": copy.deepcopy(source), "op": op, "_index": index, "_id": doc_id,
                               "_version": version, "_routing": None, "_now": int(time.time() * 1000)}
        try:
            run_program(program, {"ctx": ctx, "params": copy.deepcopy(params)})
        except ElasticsearchError as exc:
            if exc.error_type == "script_exception":
                raise
            raise runtime_error(text, exc) from None
        except RecursionError:
            raise runtime_error(text, ElasticsearchError("script too deeply nested", error_type="painless_error")
                                ) from None
    except ElasticsearchError as exc:
        raise ElasticsearchError("failed to execute script", status=400, error_type="illegal_argument_exception",
                                 caused_by=exc) from None
    new_op = ctx.get("op")
    new_source = ctx.get("_source")
    if not isinstance(new_source, dict):
        raise IllegalArgumentException("[ctx._source] must remain an object")
    if new_op == "none":
        new_op = "noop"
    if new_op not in ("index", "create", "noop", "delete"):
        new_op = "noop"  # Elasticsearch logs an unknown operation and does nothing
    return ScriptOutcome(str(new_op), new_source)
