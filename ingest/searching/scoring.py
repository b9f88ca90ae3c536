"""Scoring a parsed query on a corpus: {document ordinal: score} of the documents that match.

``bool`` sums the scores of ``must`` and matching ``should`` clauses (``filter``/``must_not`` only select),
nodes with a ``score`` method (full text, k-NN, sparse, registered types) score themselves, and the filters of
``ingest.query.dsl`` (``term``, ``range``...) match with a constant score (their ``boost``, 1.0)."""

from __future__ import annotations

from typing import Any

from ingest.query.dsl import Bool, MatchAll, Query
from ingest.searching.corpus import Corpus


def evaluate(query: Query, corpus: Corpus) -> dict[int, float]:
    """The matching documents' ordinals and scores."""
    def nested(q: Query) -> dict[int, float]:
        return evaluate(q, corpus)

    score = getattr(query, "score", None)
    if callable(score):
        result: dict[int, float] = score(corpus, nested)
        return result
    if isinstance(query, Bool):
        return _bool(query, corpus)
    if isinstance(query, MatchAll):
        return dict.fromkeys(range(len(corpus)), 1.0) if query.everything else {}
    return {n: 1.0 for n, (i, s) in enumerate(zip(corpus.ids, corpus.sources, strict=True)) if query.matches(i, s)}


def _bool(query: Bool, corpus: Corpus) -> dict[int, float]:
    selected: set[int] | None = None
    total: dict[int, float] = {}
    for clause in query.must:
        scores = evaluate(clause, corpus)
        selected = set(scores) if selected is None else selected & set(scores)
        for d, s in scores.items():
            total[d] = total.get(d, 0.0) + s
    for clause in query.filter:
        found = set(evaluate(clause, corpus))
        selected = found if selected is None else selected & found
    should_hits: dict[int, int] = {}
    for clause in query.should:
        for d, s in evaluate(clause, corpus).items():
            total[d] = total.get(d, 0.0) + s
            should_hits[d] = should_hits.get(d, 0) + 1
    if selected is None:  # only should (or nothing): the should clauses select, or everything matches
        selected = set(should_hits) if query.minimum_should_match > 0 else set(range(len(corpus)))
    if query.minimum_should_match > 0:
        selected = {d for d in selected if should_hits.get(d, 0) >= query.minimum_should_match}
    for clause in query.must_not:
        selected -= set(evaluate(clause, corpus))
    pure_filter = not query.must and not query.should
    return {d: 0.0 if pure_filter and query.filter else total.get(d, 0.0 if query.filter else 1.0)
            for d in selected}


def constant(scores: dict[int, float], value: Any = 1.0) -> dict[int, float]:
    """The same documents with a constant score."""
    return dict.fromkeys(scores, float(value))
