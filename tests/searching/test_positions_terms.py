"""Phrase frequencies with ``slop`` (Lucene's sloppy matcher) and ``term`` scores, on small corpora."""

from __future__ import annotations

import math

import pytest

from ingest.query.dsl import parse_query
from ingest.searching.corpus import Corpus
from ingest.searching.positions import phrase_freq
from ingest.searching.queries import QUERY_TYPES
from ingest.searching.scoring import evaluate
from ingest.searching.terms import parse_term


def test_sloppy_frequency_counts_one_over_one_plus_the_span() -> None:
    assert phrase_freq([[0], [2]], 0) == 0.0  # "quick _ fox" is no exact "quick fox"
    assert phrase_freq([[0], [2]], 1) == pytest.approx(0.5)
    assert phrase_freq([[1], [0]], 1) == 0.0  # reversed: two moves
    assert phrase_freq([[1], [0]], 2) == pytest.approx(1 / 3)
    assert phrase_freq([[0, 10], [1, 11]], 0) == 2.0
    assert phrase_freq([[0, 10], [1, 13]], 5) == pytest.approx(1.0 + 1 / 3)
    assert phrase_freq([[0], []], 3) == 0.0


def _corpus() -> Corpus:
    texts = ["quick brown fox", "quick fox", "fox quick", "the quick red and brown fox", "dog"]
    return Corpus("t", [str(i) for i in range(len(texts))], [{"body": t, "tag": t.split()[0]} for t in texts])


def _run(query: dict[str, object], corpus: Corpus) -> dict[int, float]:
    extra = {**QUERY_TYPES, "term": parse_term}
    return evaluate(parse_query(query, frozenset({"body"}), extra), corpus)


def test_match_phrase_slop_widens_matches_and_ranks_closer_first() -> None:
    corpus = _corpus()
    assert set(_run({"match_phrase": {"body": "quick fox"}}, corpus)) == {1}
    one = _run({"match_phrase": {"body": {"query": "quick fox", "slop": 1}}}, corpus)
    assert set(one) == {0, 1} and one[1] > one[0]
    assert set(_run({"match_phrase": {"body": {"query": "quick fox", "slop": 2}}}, corpus)) == {0, 1, 2}
    assert set(_run({"match_phrase": {"body": {"query": "quick fox", "slop": 4}}}, corpus)) == {0, 1, 2, 3}
    with pytest.raises(Exception, match="negative slop"):
        _run({"match_phrase": {"body": {"query": "quick fox", "slop": -1}}}, corpus)


def test_term_is_bm25_on_text_and_idf_on_keywords() -> None:
    corpus = _corpus()
    text = _run({"term": {"body": "brown"}}, corpus)
    match = evaluate(parse_query({"match": {"body": "brown"}}, frozenset({"body"}), QUERY_TYPES), corpus)
    assert text == pytest.approx(match) and len(set(text.values())) == 2  # BM25: the shorter text scores higher
    keyword = _run({"term": {"tag": {"value": "quick", "boost": 2}}}, corpus)
    idf = math.log(1 + (5 - 2 + 0.5) / (2 + 0.5))
    assert keyword == pytest.approx({0: 2 * idf, 1: 2 * idf})
    assert _run({"term": {"body": "Brown"}}, corpus) == {}  # a term is not analyzed
    assert set(_run({"term": {"body": {"value": "BROWN", "case_insensitive": True}}}, corpus).values()) == {1.0}
