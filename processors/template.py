"""Mustache templates as Elasticsearch's ingest uses them: ``{{field}}`` (JSON-escaped) and ``{{{field}}}``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.processors.document import IngestDocument

_TAG = re.compile(r"\{\{\{\s*([^}]+?)\s*\}\}\}|\{\{\s*(&?)\s*([^}]+?)\s*\}\}")


def java_string(value: Any) -> str:
    """``String.valueOf`` of a JSON value, as Mustache prints it in Elasticsearch."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) < 1e7 else repr(value).upper().replace("E+", "E")
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) if v is not None else "null" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


class Template:
    """A compiled template; static strings render to themselves without any work."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str | tuple[str, bool]] = []
        pos = 0
        for match in _TAG.finditer(source):
            if match.start() > pos:
                self.parts.append(source[pos:match.start()])
            if match.group(1) is not None:
                self.parts.append((match.group(1), False))
            else:
                self.parts.append((match.group(3), match.group(2) != "&"))
            pos = match.end()
        if pos < len(source):
            self.parts.append(source[pos:])
        self.is_static = all(isinstance(p, str) for p in self.parts)

    def render(self, doc: IngestDocument) -> str:
        """The template with every variable replaced by the document's value (missing → empty)."""
        if self.is_static:
            return self.source
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, escape = part
            text = java_string(lookup(doc, name))
            out.append(json.dumps(text, ensure_ascii=False)[1:-1] if escape else text)
        return "".join(out)


def lookup(doc: IngestDocument, name: str) -> Any:
    """A template variable: a ctx path, ``_ingest.*`` or ``_source.*``; None when it does not resolve."""
    if name == "_ingest":
        return doc.ingest
    return doc.get(name, None)


class ValueSource:
    """A ``value`` option: strings are templates, lists and maps are walked, anything else is constant."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.is_static = _static(value)
        self._compiled = _compile(value)

    def resolve(self, doc: IngestDocument) -> Any:
        """The value for this document (a fresh copy, so documents never share mutable values)."""
        return _render(self._compiled, doc)


def _static(value: Any) -> bool:
    if isinstance(value, str):
        return Template(value).is_static
    if isinstance(value, list):
        return all(_static(v) for v in value)
    if isinstance(value, dict):
        return all(_static(k) and _static(v) for k, v in value.items())
    return True


def _compile(value: Any) -> Any:
    if isinstance(value, str):
        return Template(value)
    if isinstance(value, list):
        return [_compile(v) for v in value]
    if isinstance(value, dict):
        return {k: _compile(v) for k, v in value.items()}
    return value


def _render(compiled: Any, doc: IngestDocument) -> Any:
    if isinstance(compiled, Template):
        return compiled.render(doc)
    if isinstance(compiled, list):
        return [_render(v, doc) for v in compiled]
    if isinstance(compiled, dict):
        return {k: _render(v, doc) for k, v in compiled.items()}
    return compiled
