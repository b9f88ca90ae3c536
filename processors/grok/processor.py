"""The ``grok`` processor: Elasticsearch's options, defaults, pattern banks and error messages."""

from __future__ import annotations

from functools import lru_cache

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import read_string
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.grok.expression import GrokExpression
from ingest.processors.grok.library import ECS_COMPATIBILITY_MODES, builtin_patterns, check_bank

_MATCH_INDEX = "_ingest._grok_match_index"


def combine(patterns: list[str], trace_match: bool) -> str:
    """Elasticsearch's combinePatterns: one alternation, each branch named by its index when tracing."""
    if len(patterns) == 1:
        return patterns[0]
    if trace_match:
        return "|".join(f"(?<{_MATCH_INDEX}.{i}>{p})" for i, p in enumerate(patterns))
    return "|".join(f"(?:{p})" for p in patterns)


@lru_cache(maxsize=256)
def compile_grok(patterns: tuple[str, ...], definitions: tuple[tuple[str, str], ...], ecs_compatibility: str,
                 trace_match: bool) -> GrokExpression:
    """The compiled expression for one processor configuration (shared by identical configurations)."""
    bank = dict(builtin_patterns(ecs_compatibility))
    bank.update(definitions)
    if definitions:
        check_bank(bank, [name for name, _ in definitions])
    return GrokExpression(bank, combine(list(patterns), trace_match))


class GrokProcessor(Processor):
    """``grok``: the named captures of the patterns (one alternation, as Elasticsearch combines them) become
    fields; dotted names nest, ``:int``-style suffixes convert."""

    type = "grok"
    field: str
    patterns: list[str]
    trace_match: bool
    ignore_missing: bool
    expression: GrokExpression

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.patterns = opts.string_list("patterns", required=True, allow_string=False) or []
        p.trace_match = opts.boolean("trace_match", False)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        ecs = opts.string("ecs_compatibility", "disabled")
        if ecs not in ECS_COMPATIBILITY_MODES:
            raise opts.error("ecs_compatibility", f"[ecs_compatibility] unsupported mode '{ecs}'")
        if not p.patterns:
            raise opts.error("patterns", "[patterns] List of patterns must not be empty")
        custom = opts.mapping("pattern_definitions") or {}
        for name, definition in custom.items():
            if not isinstance(definition, str):
                raise opts.error("pattern_definitions",
                                 f"[pattern_definitions] pattern [{name}] isn't a string")
        try:
            p.expression = compile_grok(tuple(p.patterns), tuple(custom.items()), ecs, p.trace_match)
        except Exception as exc:  # every compile problem is reported the way Elasticsearch reports it
            listed = "[" + ", ".join(p.patterns) + "]"
            raise opts.error("patterns", f"[patterns] Invalid regex pattern found in: {listed}. {exc}") from None
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = read_string(doc, self.field, self.ignore_missing)
        if value is None:
            return
        matches = self.expression.match(value)
        if matches is None:
            raise illegal_argument(f"Provided Grok expressions do not match field value: [{value}]")
        index = "0"
        for path, captured in matches.items():
            if path.startswith(_MATCH_INDEX + "."):
                index = path[len(_MATCH_INDEX) + 1:]
                continue
            doc.set(path, captured)
        if self.trace_match:
            doc.set(_MATCH_INDEX, index)


PROCESSORS: list[type[Processor]] = [GrokProcessor]
