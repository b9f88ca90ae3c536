"""The ``term`` query scored as Elasticsearch scores it, rather than with a constant 1: a ``TermQuery`` is BM25 of
its one term. On a ``text`` field that is BM25 over the field's tokens; on a keyword-like field (norms off, one
"length" per document) it is the term's idf times ``(k1 + 1) / (1 + k1 (1 - b + b / avgdl))`` — the idf alone for
single-valued fields. Numbers are point queries and ``case_insensitive`` is an automaton: both constant
``boost``, as in Elasticsearch. Matching stays ``ingest.query.dsl``'s ``Terms``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ingest.query.dsl import ParseContext, Query, Terms, parse_query, values_at
from ingest.searching.corpus import Corpus
from ingest.searching.queries import K1, B, Evaluate, bm25


@dataclass(frozen=True)
class ScoredTerm:
    """``term``: ``inner`` decides what matches, the score is BM25 of the one term."""

    inner: Terms
    boost: float = 1.0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        return self.inner.matches(doc_id, source)

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        term = self.inner
        value = term.values[0]
        if term.analyzed and not term.case_insensitive:
            return bm25(corpus.field(term.field), str(value), self.boost)
        hits = [n for n, (i, s) in enumerate(zip(corpus.ids, corpus.sources, strict=True)) if term.matches(i, s)]
        if (term.field in ("_id", "_index") or term.case_insensitive or term.analyzed
                or (isinstance(value, (int, float)) and not isinstance(value, bool))):
            return dict.fromkeys(hits, self.boost)
        if hits and _numeric(corpus.sources[hits[0]], term.field):
            return dict.fromkeys(hits, self.boost)  # a numeric field queried with a string: still a point query
        return dict.fromkeys(hits, self.boost * _keyword_weight(corpus, term.field, len(hits)))


def _numeric(source: dict[str, Any], field: str) -> bool:
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values_at(source, field))


def _keyword_weight(corpus: Corpus, field: str, df: int) -> float:
    """BM25 of a term with frequency 1 on a field without norms (keyword): Lucene's ``docCount`` documents hold
    the field, ``sumDocFreq / docCount`` distinct values each on average."""
    key = "\0keyword-stats:" + field
    cache = corpus.__dict__.setdefault("_vector_cache", {})
    if key not in cache:
        counts = [len({str(v) for v in values_at(s, field) if not isinstance(v, (dict, list))})
                  for s in corpus.sources]
        holding = [c for c in counts if c]
        cache[key] = (len(holding), sum(holding) / len(holding) if holding else 1.0)
    doc_count, avg = cache[key]
    idf = math.log(1 + (doc_count - df + 0.5) / (df + 0.5))
    return float(idf * (K1 + 1) / (1 + K1 * (1 - B + B / avg)))


def parse_term(spec: dict[str, Any], context: ParseContext) -> Query:
    """The ``term`` query's parser for ``_search`` (``register_query``): ``ingest.query.dsl``'s checks, plus the
    ``boost`` it ignores."""
    inner = parse_query({"term": spec}, context.text)
    assert isinstance(inner, Terms)
    boost = 1.0
    for key, value in spec.items():
        if key == "boost":
            boost = float(value)
        elif isinstance(value, dict) and "boost" in value:
            boost = float(value["boost"])
    return ScoredTerm(inner, boost)
