"""``redact``: replace what grok patterns match with ``<NAME>`` (Elasticsearch's x-pack redact processor).

Patterns use the ECS grok library (``processors/grok``) plus ``pattern_definitions``; each pattern's first named
capture names its replacement. Overlapping matches merge into one replacement named by the longest match.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import field_value
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.grok.expression import MATCH_TIMEOUT_S, GrokExpression
from ingest.processors.grok.library import builtin_patterns, check_bank


@dataclass
class _Span:
    start: int
    end: int
    name: str


def _merge(spans: list[_Span]) -> list[_Span]:
    """RedactProcessor.mergeOverlappingReplacements: sorted, overlapping (or touching) spans become one."""
    groups: list[list[_Span]] = []
    end = -1
    for span in sorted(spans, key=lambda s: s.start):
        if groups and span.start <= end:
            groups[-1].append(span)
        else:
            groups.append([span])
        end = max(end, span.end) if len(groups[-1]) > 1 else span.end
    out = []
    for group in groups:
        longest = max(group, key=lambda s: s.end - s.start)  # the first of the longest, as Elasticsearch
        out.append(_Span(group[0].start, max(s.end for s in group), longest.name))
    return out


def redact(text: str, expressions: list[tuple[GrokExpression, str]], prefix: str, suffix: str) -> str:
    """``text`` with every match of every expression replaced by ``prefix + name + suffix``."""
    spans: list[_Span] = []
    for expression, name in expressions:
        pos = 0
        while pos <= len(text):
            try:
                found = expression.regex.search(text, pos, timeout=MATCH_TIMEOUT_S)
            except TimeoutError:
                raise ElasticsearchError("Grok pattern matching timed out", error_type="elasticsearch_timeout_exception",
                                         status=500) from None
            if found is None:
                break
            if not name:
                raise illegal_argument(f"redact pattern [{expression.source}] has no named capture (as in "
                                       "%{EMAILADDRESS:EMAIL}) to name its replacement")
            spans.append(_Span(found.start(), found.end(), name))
            pos = found.end() + 1 if found.end() == pos else found.end()
            if pos == len(text):
                break
    if not spans:
        return text
    out, read = [], 0
    for span in _merge(spans):
        out.append(text[read:span.start] + prefix + span.name + suffix)
        read = span.end
    out.append(text[read:])
    return "".join(out)


class RedactProcessor(Processor):
    """``redact``: mask sensitive values (emails, IPs, ...) found by grok patterns."""

    type = "redact"
    field: str
    expressions: list[tuple[GrokExpression, str]]
    prefix: str
    suffix: str
    ignore_missing: bool
    trace_redact: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        patterns = opts.string_list("patterns", required=True, allow_string=False) or []
        p.ignore_missing = opts.boolean("ignore_missing", True)
        p.prefix = opts.string("prefix", "<")
        p.suffix = opts.string("suffix", ">")
        p.trace_redact = opts.boolean("trace_redact", False)
        opts.boolean("skip_if_unlicensed", False)  # there is no licence to check here: the processor always runs
        if not patterns:
            raise opts.error("patterns", "[patterns] List of patterns must not be empty")
        custom = opts.mapping("pattern_definitions") or {}
        for name, definition in custom.items():
            if not isinstance(definition, str):  # as grok says it
                raise opts.error("pattern_definitions", f"[pattern_definitions] pattern [{name}] isn't a string")
        try:
            bank = dict(builtin_patterns("v1"))
            bank.update({k: str(v) for k, v in custom.items()})
            if custom:
                check_bank(bank, list(custom))
            p.expressions = []
            for pattern in patterns:
                expression = GrokExpression(bank, pattern)
                # The first named capture names the replacement; Elasticsearch accepts a pattern without one and
                # fails when it matches, so it is only refused then (see ``redact``).
                p.expressions.append((expression, expression.captures[0].field if expression.captures else ""))
        except Exception as exc:
            raise opts.error("patterns", f"[patterns] Invalid regex pattern found in: [{', '.join(patterns)}]. "
                                         f"{exc}") from None
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = field_value(doc, self.field, True)
        if value is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{self.field}] is null or missing")
        redacted = redact(value, self.expressions, self.prefix, self.suffix)
        doc.set(self.field, redacted)
        if self.trace_redact and redacted != value:
            doc.set("_ingest._redact._is_redacted", True)


PROCESSORS: list[type[Processor]] = [RedactProcessor]
