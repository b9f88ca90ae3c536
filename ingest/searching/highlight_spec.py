"""The ``highlight`` section's options as Elasticsearch accepts them: the known keys (others refused as its
parser does), highlighter types, ``tags_schema``, ``pre_tags``/``post_tags`` and the ``html`` encoder."""

from __future__ import annotations

from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parsing_error

_TYPES = ("unified", "plain", "fvh", "semantic")
_OPTIONS = {"pre_tags", "post_tags", "fragment_size", "number_of_fragments", "fragment_offset", "encoder",
            "require_field_match", "boundary_scanner", "boundary_max_scan", "boundary_chars",
            "boundary_scanner_locale", "type", "fragmenter", "no_match_size", "force_source", "phrase_limit",
            "highlight_query", "order", "highlight_filter", "options", "max_analyzed_offset"}
_TOP_ONLY = {"fields", "tags_schema"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"}


def _unknown(where: str, key: str) -> ElasticsearchError:
    return ElasticsearchError(f"[{where}] unknown field [{key}]", status=400, error_type="x_content_parse_exception")


def check_spec(spec: Any) -> None:
    """Refuse a malformed ``highlight`` section with Elasticsearch's errors."""
    if not isinstance(spec, dict):
        raise parsing_error("[highlight] must be an object")
    for key in spec:
        if key not in _OPTIONS | _TOP_ONLY:
            raise _unknown("highlight", key)
    fields = spec.get("fields")
    items = fields if isinstance(fields, list) else [fields] if isinstance(fields, dict) else None
    if items is None or not all(isinstance(i, dict) for i in items):
        raise parsing_error("[highlight] requires [fields] (an object, or an array of objects)")
    if spec.get("tags_schema") not in (None, "styled"):
        raise ElasticsearchError(f"Unknown tag schema [{spec['tags_schema']}]", status=400,
                                 error_type="illegal_argument_exception")
    for name, options in [("", spec), *[(n, o) for i in items for n, o in i.items()]]:
        if not isinstance(options, dict):
            raise parsing_error("[highlight] field options must be an object")
        for key in options if name else ():
            if key not in _OPTIONS and key != "matched_fields":
                raise _unknown("highlight_field", key)
        kind = options.get("type")
        if kind is not None and kind not in _TYPES:
            raise ElasticsearchError(f"unknown highlighter type [{kind}] for the field [{name or '*'}]", status=400,
                                     error_type="search_phase_execution_exception")
        for key in ("fragment_size", "number_of_fragments", "no_match_size"):
            if key in options and int(options[key]) < 0:
                raise parsing_error(f"[highlight] [{key}] must be positive")


def tags(options: dict[str, Any]) -> tuple[str, str]:
    """``pre_tags``/``post_tags`` (``tags_schema: styled``: ``<em class="hlt1">``)."""
    styled = options.get("tags_schema") == "styled"
    pre = (options.get("pre_tags") or ['<em class="hlt1">' if styled else "<em>"])[0]
    return str(pre), str((options.get("post_tags") or ["</em>"])[0])


def encode(text: str, options: dict[str, Any]) -> str:
    """The text as shown: HTML-escaped with ``encoder: html`` (tags are added around it, never escaped)."""
    return "".join(_HTML.get(c, c) for c in text) if options.get("encoder") == "html" else text
