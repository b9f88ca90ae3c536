"""A subset of Elasticsearch's query DSL, parsed into a small tree and evaluated on ``(_id, _source)``.

Covered: ``match_all``, ``match_none``, ``term``, ``terms``, ``ids``, ``range`` (``gt``/``gte``/``lt``/``lte``;
numbers compare as numbers, everything else as strings, so ISO dates compare in time order), ``exists`` and
``bool`` (``must``/``filter``/``should``/``must_not``, ``minimum_should_match``); ``boost`` and ``_name`` are
accepted. On the fields the index maps as ``text`` (``text_fields``, from its mapping) ``term``/``terms`` match
a token of the value as the standard analyzer makes them (lowercased words: ``"Disk full"`` holds ``disk`` and
``full``), as in Elasticsearch; elsewhere, and on ``field.keyword``, the whole value is compared; numbers match
numbers and their text (``"5"`` matches ``5``); ``case_insensitive`` is honoured.
Any other query is refused with ``parsing_exception`` naming it, never ignored.

The tree is engine-neutral (plain dataclasses) so that a search engine can translate it (SQL, an inverted
index) instead of calling ``matches``; ``matches`` is the reference semantics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.models.errors import ElasticsearchError

SUPPORTED = ("match_all", "match_none", "term", "terms", "ids", "range", "exists", "bool")
_COMMON = ("boost", "_name")


class Query(Protocol):
    """A parsed query."""

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        """Whether the document matches."""
        ...


def parsing_error(reason: str) -> ElasticsearchError:
    """Elasticsearch's 400 ``parsing_exception``."""
    return ElasticsearchError(reason, status=400, error_type="parsing_exception")


_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(value: Any) -> set[str]:
    """The standard analyzer's tokens of a value, approximately: lowercased runs of word characters."""
    return {t.lower() for t in _TOKEN.findall(str(value))}


def text_fields(properties: dict[str, Any], prefix: str = "") -> frozenset[str]:
    """The dotted paths an index mapping (Elasticsearch's ``properties``) maps as ``text``."""
    out: set[str] = set()
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == "text":
            out.add(prefix + name)
        if isinstance(spec.get("properties"), dict):
            out |= text_fields(spec["properties"], prefix + name + ".")
    return frozenset(out)


def values_at(source: dict[str, Any], path: str) -> Iterator[Any]:
    """Every value at a dotted path, arrays flattened (a literal dotted key is found too)."""
    if path.endswith(".keyword"):
        path = path[: -len(".keyword")]
    yield from _values(source, path.split("."))


def _values(node: Any, parts: list[str]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _values(item, parts)
        return
    if not parts:
        if node is not None:
            yield node
        return
    if not isinstance(node, dict):
        return
    for i in range(len(parts), 0, -1):  # "a.b" as one key, then "a" → "b"
        key = ".".join(parts[:i])
        if key in node:
            yield from _values(node[key], parts[i:])


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal(stored: Any, wanted: Any, case_insensitive: bool = False) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return str(stored).lower() == str(wanted).lower()
    a, b = _number(stored), _number(wanted)
    if a is not None and b is not None and (isinstance(stored, (int, float)) or isinstance(wanted, (int, float))):
        return a == b
    if isinstance(stored, (dict, list)):
        return False
    if case_insensitive:
        return str(stored).lower() == str(wanted).lower()
    return str(stored) == str(wanted)


@dataclass(frozen=True)
class MatchAll:
    """``match_all`` (or ``match_none`` with ``everything=False``)."""

    everything: bool = True

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return self.everything


@dataclass(frozen=True)
class Terms:
    """``term`` (one value) and ``terms`` (any of the values) on a field."""

    field: str
    values: tuple[Any, ...]
    case_insensitive: bool = False
    analyzed: bool = False  # a text field: a value matches one of the stored value's tokens

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        if self.field == "_id":
            return any(str(v) == doc_id for v in self.values)
        if self.analyzed:
            wanted = {str(v).lower() if self.case_insensitive else str(v) for v in self.values}
            return any(not isinstance(s, (dict, list)) and tokens(s) & wanted for s in values_at(source, self.field))
        return any(_equal(s, v, self.case_insensitive) for s in values_at(source, self.field) for v in self.values)


@dataclass(frozen=True)
class Ids:
    """``ids``."""

    values: frozenset[str]

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return doc_id in self.values


@dataclass(frozen=True)
class Range:
    """``range``: bounds as given (numbers or strings)."""

    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return any(self._within(v) for v in values_at(source, self.field))

    def _within(self, value: Any) -> bool:
        for bound, ok in ((self.gt, lambda c: c > 0), (self.gte, lambda c: c >= 0), (self.lt, lambda c: c < 0),
                          (self.lte, lambda c: c <= 0)):
            if bound is None:
                continue
            cmp = _compare(value, bound)
            if cmp is None or not ok(cmp):
                return False
        return True


def _compare(value: Any, bound: Any) -> int | None:
    if isinstance(value, (dict, list, bool)):
        return None
    a, b = _number(value), _number(bound)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(value, (int, float)):
        return None  # a number against a bound that is not one (Elasticsearch refuses such a query)
    x, y = str(value), str(bound)
    return (x > y) - (x < y)


@dataclass(frozen=True)
class Exists:
    """``exists``: the field has a non-null value (an empty array does not count)."""

    field: str

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        if self.field in ("_id", "_index"):
            return True
        return next(values_at(source, self.field), None) is not None


@dataclass(frozen=True)
class Bool:
    """``bool``; ``minimum_should_match`` defaults to 1 when there is no must/filter clause, else 0."""

    must: tuple[Query, ...] = ()
    filter: tuple[Query, ...] = ()
    should: tuple[Query, ...] = ()
    must_not: tuple[Query, ...] = ()
    minimum_should_match: int = 0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        if not all(q.matches(doc_id, source) for q in (*self.must, *self.filter)):
            return False
        if any(q.matches(doc_id, source) for q in self.must_not):
            return False
        if self.minimum_should_match <= 0:
            return True
        return sum(1 for q in self.should if q.matches(doc_id, source)) >= self.minimum_should_match


@dataclass(frozen=True)
class ParseContext:
    """What a query parser is given beside its body: the ``text`` fields and ``parse`` for nested queries."""

    text: frozenset[str]
    parse: Callable[[Any], Query]


# A parser of one query type (``{"match": spec}`` → ``parser(spec, context)``); the search engine adds its own
# (``ingest.searching.queries``: full text, k-NN, sparse vectors) through ``extra``.
QueryParser = Callable[[dict[str, Any], ParseContext], Query]


def parse_query(body: Any, text: frozenset[str] = frozenset(),
                extra: Mapping[str, QueryParser] | None = None) -> Query:
    """Parse a query object (``{"term": {...}}``); ``text`` are the fields mapped as ``text`` (``text_fields``);
    ``extra`` adds query types (the search engine's). Raises ``parsing_exception`` on anything outside them."""
    if not isinstance(body, dict) or len(body) != 1:
        raise parsing_error("[_na] query malformed, must start with start_object" if not isinstance(body, dict)
                            else "[_na] query malformed, no start_object after query name" if not body
                            else f"[{next(iter(body))}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    name, spec = next(iter(body.items()))
    extra = extra or {}
    if name not in SUPPORTED and name not in extra:
        known = ", ".join((*SUPPORTED, *extra))
        raise parsing_error(f"unknown query [{name}]" if name not in _ES_QUERIES else
                            f"query [{name}] is not supported by the embedded store (supported: {known})")
    if not isinstance(spec, dict):
        raise parsing_error(f"[{name}] query malformed, no start_object after query name")
    context = ParseContext(text, lambda inner: parse_query(inner, text, extra))
    if name in extra:
        return extra[name](spec, context)
    parsed: Query = _PARSERS[name](spec, text) if name != "bool" else _bool(spec, context)
    return parsed


def _field_spec(name: str, spec: dict[str, Any]) -> tuple[str, Any]:
    fields = [k for k in spec if k not in _COMMON]
    if len(fields) != 1:
        raise parsing_error(f"[{name}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]"
                            if len(fields) > 1 else f"[{name}] query does not support [{next(iter(spec), '')}]")
    return fields[0], spec[fields[0]]


def _term(spec: dict[str, Any], text: frozenset[str]) -> Query:
    field, value = _field_spec("term", spec)
    insensitive = False
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"value", "boost", "_name", "case_insensitive"})
        if unknown:
            raise parsing_error(f"[term] query does not support [{unknown[0]}]")
        if "value" not in value:
            raise parsing_error("[term] query requires a [value]")
        insensitive = value.get("case_insensitive") is True
        value = value["value"]
    if isinstance(value, (dict, list)) or value is None:
        raise parsing_error("[term] query does not support array of values" if isinstance(value, list)
                            else "[term] query requires a value")
    return Terms(field, (value,), insensitive, field in text)


def _terms(spec: dict[str, Any], text: frozenset[str]) -> Query:
    field, values = _field_spec("terms", spec)
    if not isinstance(values, list):
        raise parsing_error(f"[terms] query does not support [{field}]" if isinstance(values, dict)
                            else "[terms] query requires an array of values")
    return Terms(field, tuple(v for v in values if not isinstance(v, (dict, list)) and v is not None),
                 analyzed=field in text)


def _ids(spec: dict[str, Any], text: frozenset[str]) -> Query:
    values = spec.get("values", [])
    unknown = sorted(set(spec) - {"values", *_COMMON})
    if unknown:
        raise parsing_error(f"[ids] query does not support [{unknown[0]}]")
    if not isinstance(values, list):
        raise parsing_error("[ids] query does not support [values] as a single value")
    return Ids(frozenset(str(v) for v in values))


def _range(spec: dict[str, Any], text: frozenset[str]) -> Query:
    field, bounds = _field_spec("range", spec)
    if not isinstance(bounds, dict):
        raise parsing_error(f"[range] query does not support [{field}]")
    out: dict[str, Any] = {}
    for key, value in bounds.items():
        if key in ("gt", "gte", "lt", "lte"):
            out[key] = value
        elif key in ("from", "to"):  # the legacy spelling: inclusive unless include_lower/upper say otherwise
            lower = key == "from"
            inclusive = bounds.get("include_lower" if lower else "include_upper", True)
            out[("gte" if inclusive else "gt") if lower else ("lte" if inclusive else "lt")] = value
        elif key in ("format", "time_zone", "relation", "include_lower", "include_upper", *_COMMON):
            continue
        else:
            raise parsing_error(f"[range] query does not support [{key}]")
    for value in out.values():
        if isinstance(value, str) and value.startswith("now"):
            raise parsing_error("date math ([now...]) in [range] is not supported by the embedded store")
    return Range(field, **{k: v for k, v in out.items() if v is not None})


def _exists(spec: dict[str, Any], text: frozenset[str]) -> Query:
    field = spec.get("field")
    if not isinstance(field, str) or not field:
        raise parsing_error("[exists] must be provided with a [field]")
    return Exists(field)


def _clauses(value: Any, context: ParseContext) -> tuple[Query, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(context.parse(item) for item in items)


def _bool(spec: dict[str, Any], context: ParseContext) -> Query:
    unknown = sorted(set(spec) - {"must", "filter", "should", "must_not", "minimum_should_match",
                                  "adjust_pure_negative", *_COMMON})
    if unknown:
        raise parsing_error(f"[bool] query does not support [{unknown[0]}]")
    must, filt = _clauses(spec.get("must", []), context), _clauses(spec.get("filter", []), context)
    should, must_not = _clauses(spec.get("should", []), context), _clauses(spec.get("must_not", []), context)
    default = 0 if (must or filt) else 1 if should else 0
    raw = spec.get("minimum_should_match", default)
    return Bool(must, filt, should, must_not, _minimum(raw, len(should)))


def minimum_should_match(raw: Any, clauses: int) -> int:
    """Elasticsearch's ``minimum_should_match`` (``2``, ``-1``, ``75%``, ``-25%``) for ``clauses`` clauses."""
    return _minimum(raw, clauses)


def _minimum(raw: Any, clauses: int) -> int:
    text = str(raw).strip()
    try:
        if text.endswith("%"):
            pct = int(text[:-1])
            n = int(clauses * abs(pct) / 100)
            return n if pct >= 0 else clauses - n
        n = int(text)
    except ValueError:
        raise parsing_error(f"[bool] query does not support minimum_should_match [{raw}]") from None
    return n if n >= 0 else clauses + n


_PARSERS = {"match_all": lambda spec, text: MatchAll(True), "match_none": lambda spec, text: MatchAll(False),
            "term": _term,
            "terms": _terms, "ids": _ids, "range": _range, "exists": _exists}
# Queries Elasticsearch knows that the subset does not cover: refused by name rather than "unknown".
_ES_QUERIES = {"match", "match_phrase", "match_phrase_prefix", "multi_match", "query_string", "simple_query_string",
               "prefix", "wildcard", "regexp", "fuzzy", "nested", "has_child", "has_parent", "knn", "sparse_vector",
               "semantic", "script", "script_score", "function_score", "dis_max", "constant_score", "boosting",
               "geo_distance", "geo_bounding_box", "more_like_this", "terms_set", "combined_fields", "text_expansion",
               "intervals", "span_term", "rank_feature", "distance_feature", "pinned", "wrapper", "match_bool_prefix"}
