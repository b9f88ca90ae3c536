"""The query types a search scores beyond ``ingest.query.dsl``'s filters: full text (``match``,
``multi_match``, ``match_phrase``, ``prefix``; BM25 with Elasticsearch's defaults k1=1.2, b=0.75), ``knn``
(exact, filter applied before the top-k cut-off) and ``sparse_vector`` / ``text_expansion``.

Each parsed node scores itself: ``score(corpus, evaluate)`` → {document ordinal: score} for the documents it
matches (``evaluate`` scores nested queries, e.g. a k-NN ``filter``). ``QUERY_TYPES`` maps names to parsers;
``register_query`` adds one (the ``semantic`` query plugs in there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import ParseContext, Query, QueryParser, minimum_should_match, parsing_error, values_at
from ingest.searching.corpus import Corpus, FieldIndex, analyze, vectors
from ingest.searching.positions import phrase_freq

K1, B = 1.2, 0.75
Evaluate = Callable[[Query], dict[int, float]]


def bm25(index: FieldIndex, token: str, boost: float = 1.0) -> dict[int, float]:
    """Elasticsearch's BM25 score of one term on the documents holding it (its ``LegacyBM25Similarity``: Lucene's
    BM25 times ``k1 + 1``, so scores match Elasticsearch's, not only rankings)."""
    postings = index.postings.get(token)
    if not postings:
        return {}
    n, df, avg = index.doc_count, len(postings), index.avg_length or 1.0
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    out: dict[int, float] = {}
    for doc, positions in postings.items():
        tf = len(positions)
        norm = K1 * (1 - B + B * index.lengths.get(doc, 0) / avg)
        out[doc] = boost * (K1 + 1) * idf * tf / (tf + norm)
    return out


def _text_of(source: dict[str, Any], field: str) -> list[str]:
    return [t for v in values_at(source, field) if not isinstance(v, (dict, list)) for t in analyze(v)]


@dataclass(frozen=True)
class Match:
    """``match``: the query text's tokens, any (``or``, with ``minimum_should_match``) or all (``and``)."""

    field: str
    tokens: tuple[str, ...]
    operator: str = "or"
    minimum: Any = None
    boost: float = 1.0
    zero_terms_all: bool = False

    def required(self) -> int:
        unique = len(set(self.tokens))
        if self.operator == "and":
            return unique
        return max(1, minimum_should_match(self.minimum, unique)) if self.minimum is not None else 1

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        if not self.tokens:
            return self.zero_terms_all
        have = set(_text_of(source, self.field))
        return len(set(self.tokens) & have) >= self.required()

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        if not self.tokens:
            return dict.fromkeys(range(len(corpus)), 1.0) if self.zero_terms_all else {}
        index = corpus.field(self.field)
        total: dict[int, float] = {}
        hits: dict[int, int] = {}
        for token in self.tokens:  # a repeated token counts twice in the score, as Lucene's boolean query does
            for doc, s in bm25(index, token, self.boost).items():
                total[doc] = total.get(doc, 0.0) + s
        for token in set(self.tokens):
            for doc in index.postings.get(token, {}):
                hits[doc] = hits.get(doc, 0) + 1
        need = self.required()
        return {d: s for d, s in total.items() if hits[d] >= need}


@dataclass(frozen=True)
class MatchPhrase:
    """``match_phrase``: the tokens in order, within ``slop`` position moves (``ingest.searching.positions``),
    scored as BM25 of the phrase frequency; one token is a ``match`` of it."""

    field: str
    tokens: tuple[str, ...]
    boost: float = 1.0
    slop: int = 0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return bool(self.score(Corpus("", [doc_id], [source]), lambda q: {}))

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        if not self.tokens:
            return {}
        index = corpus.field(self.field)
        if len(self.tokens) == 1:
            return bm25(index, self.tokens[0], self.boost)
        lists = [index.postings.get(t, {}) for t in self.tokens]
        if any(not p for p in lists):
            return {}
        avg, n = index.avg_length or 1.0, index.doc_count
        idf = sum(math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for p in lists)
        out: dict[int, float] = {}
        for doc in set(lists[0]).intersection(*lists[1:]):
            freq = phrase_freq([p[doc] for p in lists], self.slop, self.tokens)
            if freq:
                norm = K1 * (1 - B + B * index.lengths.get(doc, 0) / avg)
                out[doc] = self.boost * (K1 + 1) * idf * freq / (freq + norm)
        return out


@dataclass(frozen=True)
class MultiMatch:
    """``multi_match`` (``best_fields``: the best field's score plus ``tie_breaker`` × the others';
    ``most_fields``: their sum)."""

    fields: tuple[tuple[str, float], ...]
    tokens: tuple[str, ...]
    operator: str = "or"
    minimum: Any = None
    tie_breaker: float = 0.0
    most_fields: bool = False
    boost: float = 1.0

    def _per_field(self) -> list[Match]:
        return [Match(f, self.tokens, self.operator, self.minimum, b * self.boost) for f, b in self.fields]

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return any(m.matches(doc_id, source) for m in self._per_field())

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        per = [m.score(corpus, evaluate) for m in self._per_field()]
        out: dict[int, float] = {}
        for doc in set().union(*per) if per else set():
            scores = [s[doc] for s in per if doc in s]
            best = max(scores)
            out[doc] = sum(scores) if self.most_fields else best + self.tie_breaker * (sum(scores) - best)
        return out


@dataclass(frozen=True)
class Prefix:
    """``prefix``: a token (text fields) or the whole value starting with ``value``; constant score ``boost``."""

    field: str
    value: str
    case_insensitive: bool = False
    boost: float = 1.0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        want = self.value.lower() if self.case_insensitive else self.value
        for v in values_at(source, self.field):
            if isinstance(v, (dict, list)):
                continue
            text = str(v).lower() if self.case_insensitive else str(v)
            if text.startswith(want) or (not self.field.endswith(".keyword")
                                         and any(t.startswith(want.lower()) for t in analyze(v))):
                return True
        return False

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        return {n: self.boost for n, (i, s) in enumerate(zip(corpus.ids, corpus.sources, strict=True))
                if self.matches(i, s)}


def _similarity(matrix: Any, query: Any, similarity: str, row_norms: Any = None) -> Any:
    import numpy as np

    if similarity == "l2_norm":
        return np.linalg.norm(matrix - query, axis=1)
    if similarity == "cosine":
        norms = (np.linalg.norm(matrix, axis=1) if row_norms is None else row_norms) * (np.linalg.norm(query) or 1.0)
        return (matrix @ query) / np.where(norms == 0, 1.0, norms)
    return matrix @ query


def _row_norms(corpus: Corpus, name: str, matrix: Any) -> Any:
    """The vectors' norms, once per corpus (per search they cost a temporary as large as the matrix)."""
    import numpy as np

    cached = corpus.__dict__.setdefault("_norm_cache", {})
    if name not in cached:
        cached[name] = np.linalg.norm(matrix, axis=1)
    return cached[name]


def knn_score(raw: Any, similarity: str) -> Any:
    """Elasticsearch's k-NN ``_score`` of raw similarities (as the embedded store's SQL computes it)."""
    import numpy as np

    if similarity == "l2_norm":
        return 1 / (1 + raw**2)
    if similarity == "max_inner_product":
        return np.where(raw < 0, 1 / (1 - raw), raw + 1)
    return (1 + raw) / 2


@dataclass(frozen=True)
class Knn:
    """k-NN: the ``k`` nearest of the documents matching ``filter`` (applied before the cut-off, as
    Elasticsearch pre-filters), above ``similarity`` when given. Candidates come from the corpus's HNSW
    side-car when it has one (``vectorindex``), unless ``exact``; every candidate is scored exactly."""

    field: str
    vector: tuple[float, ...]
    k: int
    filter: tuple[Query, ...] = ()
    similarity: float | None = None
    boost: float = 1.0
    num_candidates: int = 0
    exact: bool = False

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        raise parsing_error("[knn] queries are only supported in [_search]")

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        import numpy as np

        ordinals, matrix = vectors(corpus, self.field)
        if not ordinals:
            return {}
        if matrix.shape[1] != len(self.vector):
            raise parsing_error(f"the query vector has a different number of dimensions [{len(self.vector)}] "
                                f"than the document vectors [{matrix.shape[1]}]")
        kind = str(corpus.hints.get(self.field) or "cosine")
        allowed: set[int] | None = None
        for f in self.filter:
            found = set(evaluate(f))
            allowed = found if allowed is None else allowed & found
        query = np.asarray(self.vector, dtype=np.float32)
        rows = np.arange(len(ordinals)) if allowed is None else np.flatnonzero(
            np.isin(np.asarray(ordinals, dtype=np.int64), np.fromiter(allowed, dtype=np.int64, count=len(allowed))))
        if rows.size == 0:
            return {}
        whole = rows.size == len(ordinals)  # every row, in order
        if corpus.ann is not None and not self.exact:  # HNSW candidates, scored exactly below
            mask = None
            if allowed is not None:
                mask = np.zeros(len(ordinals), dtype=bool)
                mask[rows] = True
            proposed = corpus.ann.candidates(corpus, self.field, kind, query, self.k, self.num_candidates, mask)
            if proposed is not None:
                rows, whole = proposed, False
        # every row: the matrix itself (a fancy-indexed copy of 100k rows costs more than the products)
        norms = _row_norms(corpus, self.field, matrix) if kind == "cosine" else None
        raw = _similarity(matrix if whole else matrix[rows], query, kind,
                          None if norms is None else norms if whole else norms[rows])
        scores = knn_score(raw, kind)
        kept = np.arange(rows.size) if self.similarity is None else np.flatnonzero(
            raw <= self.similarity if kind == "l2_norm" else raw >= self.similarity)
        order = kept[np.argsort(-scores[kept], kind="stable")[: self.k]]
        return {ordinals[int(rows[i])]: float(scores[i]) * self.boost for i in order}


@dataclass(frozen=True)
class SparseVector:
    """``sparse_vector`` (and the deprecated ``text_expansion``): the dot product of the query's token weights
    with a document's ``sparse_vector`` field; documents sharing no token do not match."""

    field: str
    weights: tuple[tuple[str, float], ...]
    boost: float = 1.0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return any(isinstance(v, dict) and any(t in v for t, _ in self.weights) for v in values_at(source, self.field))

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        out: dict[int, float] = {}
        for n, source in enumerate(corpus.sources):
            for doc in values_at(source, self.field):
                if isinstance(doc, dict):
                    s = sum(w * float(doc[t]) for t, w in self.weights if t in doc)
                    if any(t in doc for t, _ in self.weights):
                        out[n] = out.get(n, 0.0) + s * self.boost
        return out


def _one_field(name: str, spec: dict[str, Any]) -> tuple[str, Any]:
    fields = [k for k in spec if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise parsing_error(f"[{name}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]"
                            if len(fields) > 1 else f"[{name}] query does not support [{next(iter(spec), '')}]")
    return fields[0], spec[fields[0]]


def _match(spec: dict[str, Any], context: ParseContext) -> Query:
    field, value = _one_field("match", spec)
    options: dict[str, Any] = value if isinstance(value, dict) else {"query": value}
    unknown = sorted(set(options) - {"query", "operator", "minimum_should_match", "boost", "_name", "analyzer",
                                     "zero_terms_query", "lenient", "auto_generate_synonyms_phrase_query",
                                     "fuzzy_transpositions", "max_expansions", "prefix_length"})
    if unknown:
        raise parsing_error(f"[match] query does not support [{unknown[0]}]")
    if "query" not in options:
        raise parsing_error("No text specified for text query")
    return Match(field, tuple(analyze(options["query"])), _operator(options), options.get("minimum_should_match"),
                 float(options.get("boost", 1.0)), str(options.get("zero_terms_query", "none")).lower() == "all")


def _operator(options: dict[str, Any]) -> str:
    op = str(options.get("operator", "or")).lower()
    if op not in ("or", "and"):
        raise parsing_error(f"Unknown operator [{options.get('operator')}]")
    return op


def _match_phrase(spec: dict[str, Any], context: ParseContext) -> Query:
    field, value = _one_field("match_phrase", spec)
    options: dict[str, Any] = value if isinstance(value, dict) else {"query": value}
    unknown = sorted(set(options) - {"query", "slop", "boost", "_name", "analyzer", "zero_terms_query"})
    if unknown:
        raise parsing_error(f"[match_phrase] query does not support [{unknown[0]}]")
    slop = int(options.get("slop", 0))
    if slop < 0:
        raise ElasticsearchError("No negative slop allowed.", status=400, error_type="illegal_argument_exception")
    return MatchPhrase(field, tuple(analyze(options.get("query", ""))), float(options.get("boost", 1.0)), slop)


def _multi_match(spec: dict[str, Any], context: ParseContext) -> Query:
    if "query" not in spec:
        raise parsing_error("[multi_match] requires query value")
    kind = spec.get("type", "best_fields")
    if kind not in ("best_fields", "most_fields"):
        raise parsing_error(f"[multi_match] type [{kind}] is not supported by the embedded store "
                            "(supported: best_fields, most_fields)")
    raw = spec.get("fields") or ["*"]
    fields: list[tuple[str, float]] = []
    for f in raw if isinstance(raw, list) else [raw]:
        name, _, boost = str(f).partition("^")
        fields.append((name, float(boost) if boost else 1.0))
    if any(name == "*" for name, _ in fields):
        raise parsing_error("[multi_match] needs [fields] on the embedded store (no default field)")
    return MultiMatch(tuple(fields), tuple(analyze(spec["query"])), _operator(spec), spec.get("minimum_should_match"),
                      float(spec.get("tie_breaker", 0.0)), kind == "most_fields", float(spec.get("boost", 1.0)))


def _prefix(spec: dict[str, Any], context: ParseContext) -> Query:
    field, value = _one_field("prefix", spec)
    options: dict[str, Any] = value if isinstance(value, dict) else {"value": value}
    if "value" not in options:
        raise parsing_error("[prefix] query requires a [value]")
    return Prefix(field, str(options["value"]), options.get("case_insensitive") is True,
                  float(options.get("boost", 1.0)))


def knn_from(spec: dict[str, Any], context: ParseContext, default_k: int = 10) -> Knn:
    """A ``knn`` query or top-level section (``query_vector_builder`` already resolved by the caller)."""
    unknown = sorted(set(spec) - {"field", "query_vector", "k", "num_candidates", "filter", "similarity", "boost",
                                  "_name", "query_vector_builder", "inner_hits", "rescore_vector", "exact"})
    if unknown:
        raise parsing_error(f"[knn] unknown field [{unknown[0]}]")
    if "field" not in spec:
        raise parsing_error("[knn] requires field to be specified")
    vector = spec.get("query_vector")
    if not isinstance(vector, list) or not all(isinstance(x, (int, float)) for x in vector):
        raise parsing_error("[knn] requires either a query vector or a query vector builder")
    k = int(spec.get("k", spec.get("num_candidates", default_k)))
    candidates = int(spec.get("num_candidates", max(k, min(int(1.5 * k), 10000))))
    if k < 1:
        raise parsing_error("[k] must be greater than 0")
    if candidates < k:
        raise parsing_error("[num_candidates] cannot be less than [k]")
    raw = spec.get("filter", [])
    filters = tuple(context.parse(f) for f in (raw if isinstance(raw, list) else [raw]))
    sim = spec.get("similarity")
    exact = spec.get("exact", False)
    if not isinstance(exact, bool):
        raise parsing_error(f"[knn] failed to parse field [exact]: [{exact}] is not a boolean")
    return Knn(str(spec["field"]), tuple(float(x) for x in vector), k, filters,
               float(sim) if sim is not None else None, float(spec.get("boost", 1.0)), candidates, exact)


def sparse_vector_query(spec: dict[str, Any], context: ParseContext) -> SparseVector:
    """A ``sparse_vector`` query whose ``query_vector`` is resolved (``inference_id`` already called)."""
    if "field" not in spec:
        raise parsing_error("[sparse_vector] requires a [field]")
    weights = spec.get("query_vector")
    if not isinstance(weights, dict):
        raise parsing_error("[sparse_vector] requires one of [query_vector] or [inference_id]")
    return SparseVector(str(spec["field"]), tuple((str(t), float(w)) for t, w in weights.items()),
                        float(spec.get("boost", 1.0)))


def text_expansion_query(spec: dict[str, Any], context: ParseContext) -> SparseVector:
    """A ``text_expansion`` query whose ``query_vector`` is resolved (``model_id`` already called)."""
    field, options = _one_field("text_expansion", spec)
    if not isinstance(options, dict) or not isinstance(options.get("query_vector"), dict):
        raise parsing_error("[text_expansion] requires [model_id] and [model_text]")
    return SparseVector(field, tuple((str(t), float(w)) for t, w in options["query_vector"].items()),
                        float(options.get("boost", 1.0)))


QUERY_TYPES: dict[str, QueryParser] = {
    "match": _match, "match_phrase": _match_phrase, "multi_match": _multi_match, "prefix": _prefix,
    "knn": lambda spec, context: knn_from(spec, context), "sparse_vector": sparse_vector_query,
    "text_expansion": text_expansion_query,
}


def register_query(name: str, parser: QueryParser) -> None:
    """Add a query type to ``_search`` (e.g. ``semantic``): ``parser(spec, context)`` returns a node with
    ``matches(doc_id, source)`` and ``score(corpus, evaluate)``."""
    QUERY_TYPES[name] = parser
