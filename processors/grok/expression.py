"""A compiled grok expression: ``%{NAME:field:type}`` references expanded from a pattern bank, matched in Python.

Mirrors Elasticsearch's ``Grok``: references are expanded one at a time (an expansion is scanned again, so
definitions nest); a reference with a field name becomes the named group ``NAME:field[:type]``, one without a
plain group. The group name's second ``:`` part is the field, the third its type (``int``, ``long``, ``float``,
``double``, ``boolean``; anything else keeps the string). A field captured more than once (several groups of
one name, or different group names for one field) collects a list of the values, as Elasticsearch 8.19/9.1 do.
Field names are document paths as written: Elasticsearch ships its ECS patterns with dotted names
(``%{IPORHOST:source.address}``), which nest; Logstash's bracket form ``[source][address]`` is not translated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import regex

from ingest.models.errors import ElasticsearchError
from ingest.processors.grok.onig import translate

_REFERENCE = re.compile(
    r"%\{(?P<name>(?P<pattern>[A-z0-9]+)(?::(?P<subname>[\w@\[\]:.-]+))?)(?:=(?P<definition>[^{}]+))?\}"
)
_MAX_EXPANSIONS = 100_000  # Elasticsearch's sanity limit
# Elasticsearch's matcher watchdog interrupts a match after ingest.grok.watchdog.max_execution_time (1s).
MATCH_TIMEOUT_S = 1.0
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_JAVA_FLOAT = re.compile(r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)")


class NumberFormatException(ElasticsearchError):
    """``number_format_exception``: a ``:int``/``:long``/``:float``/``:double`` capture that is no number."""

    status = 400
    error_type = "number_format_exception"


def expand(bank: Mapping[str, str], expression: str) -> str:
    """The Oniguruma regex for a grok expression (raises ValueError with Elasticsearch's messages)."""
    done: list[str] = []
    for _ in range(_MAX_EXPANSIONS):
        ref = _REFERENCE.search(expression)
        if ref is None:
            return "".join(done) + expression
        name = ref["pattern"]
        body = bank.get(name)
        if body is None:
            raise ValueError(f"Unable to find pattern [{name}] in Grok's pattern dictionary")
        if "%{" + name + "}" in body or "%{" + name + ":" in body:
            raise ValueError(f"circular reference in pattern back [{name}]")
        group = f"(?<{ref['name']}>{body})" if ref["subname"] is not None else f"(?:{body})"
        done.append(expression[:ref.start()])
        expression = group + expression[ref.end():]
    raise ValueError("Can not convert grok patterns to regular expression")


def _java_split(name: str) -> list[str]:
    parts = name.split(":")
    while len(parts) > 1 and parts[-1] == "":  # Java's String.split drops trailing empty strings
        parts.pop()
    return parts


def _int(text: str, bits: int) -> int:
    if _JAVA_INT.fullmatch(text):
        value = int(text)
        if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return value
    raise NumberFormatException(f'For input string: "{text}"')


def _float(text: str, single: bool) -> float:
    stripped = text.strip()
    match = _JAVA_FLOAT.fullmatch(stripped)
    if match is None:
        raise NumberFormatException("empty String" if not stripped else f'For input string: "{text}"')
    value = float(stripped.rstrip("fFdD").replace("Infinity", "inf"))
    # Java's float: round to single precision, then its shortest decimal (what the JSON output carries).
    return float(str(np.float32(value))) if single else value


def convert(text: str, kind: str) -> Any:
    """A captured string converted like Elasticsearch's GrokCaptureType."""
    if kind == "int":
        return _int(text, 32)
    if kind == "long":
        return _int(text, 64)
    if kind == "float":
        return _float(text, True)
    if kind == "double":
        return _float(text, False)
    if kind == "boolean":
        return text.lower() == "true"
    return text


@dataclass(frozen=True)
class Capture:
    """One distinct group name of the expression: the field it fills, its type and its regex groups."""

    field: str
    kind: str
    groups: tuple[str, ...]


class GrokExpression:
    """A grok expression compiled against a pattern bank."""

    def __init__(self, bank: Mapping[str, str], expression: str) -> None:
        self.source = expression
        translated = translate(expand(bank, expression))
        # The ``regex`` engine (``re``-compatible in V0 mode) because a match can be given a time limit.
        self.regex = regex.compile(translated.regex, regex.MULTILINE | regex.V0)
        by_name: dict[str, list[str]] = {}
        for number, name in enumerate(translated.names):
            by_name.setdefault(name, []).append(f"g{number}")
        self.captures: list[Capture] = []
        for name, groups in by_name.items():
            parts = _java_split(name)
            field = parts[1] if len(parts) >= 2 else parts[0]
            kind = parts[2] if len(parts) == 3 else "string"
            self.captures.append(Capture(field, kind, tuple(groups)))

    def match(self, text: str) -> dict[str, Any] | None:
        """The captured fields (path → value, lists for repeated names), or None when the text does not match."""
        try:
            found = self.regex.search(text, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            raise ElasticsearchError(
                f"grok pattern matching was interrupted after [{int(MATCH_TIMEOUT_S * 1000)}] ms",
                error_type="runtime_exception") from None
        if found is None:
            return None
        result: dict[str, Any] = {}
        for capture in self.captures:
            for group in capture.groups:
                value = found.group(group)
                if value is None:
                    continue
                converted = convert(value, capture.kind)
                if capture.field not in result:
                    result[capture.field] = converted
                elif isinstance(result[capture.field], list):
                    result[capture.field].append(converted)
                else:
                    result[capture.field] = [result[capture.field], converted]
        return result
