"""Token pruning of ``sparse_vector`` (``prune``, ``pruning_config``) and ``text_expansion`` (``pruning_config``)
queries, as Elasticsearch's ``queryBuilderWithPrunedTokens`` does it.

A query token is kept when it is rare enough in the field — its document frequency over the field's document
count below ``tokens_freq_ratio_threshold`` × the field's average token frequency ratio (``sumDocFreq /
docCount / unique tokens``) — or heavy enough — its weight above ``tokens_weight_threshold`` × the query's best
weight. A token no document holds is dropped. ``only_score_pruned_tokens`` inverts the choice (the pruned
tokens alone score: Elasticsearch's rescoring recipe). Defaults: 5, 0.4, false."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.query.dsl import ParseContext, Query, parsing_error, values_at
from ingest.searching.corpus import Corpus
from ingest.searching.queries import Evaluate, SparseVector, sparse_vector_query, text_expansion_query


@dataclass(frozen=True)
class PruningConfig:
    """``pruning_config``'s three settings."""

    tokens_freq_ratio_threshold: float = 5.0
    tokens_weight_threshold: float = 0.4
    only_score_pruned_tokens: bool = False


def parse_config(raw: Any) -> PruningConfig:
    """A ``pruning_config`` object, range-checked with Elasticsearch's messages."""
    if raw is None:
        return PruningConfig()
    if not isinstance(raw, dict):
        raise parsing_error("[pruning_config] must be an object")
    unknown = sorted(set(raw) - {"tokens_freq_ratio_threshold", "tokens_weight_threshold", "only_score_pruned_tokens"})
    if unknown:
        raise parsing_error(f"[pruning_config] unknown field [{unknown[0]}]")
    ratio = float(raw.get("tokens_freq_ratio_threshold", 5))
    weight = float(raw.get("tokens_weight_threshold", 0.4))
    if not 1 <= ratio <= 100:
        raise parsing_error(f"[tokens_freq_ratio_threshold] must be between [1] and [100], got {ratio}")
    if not 0 <= weight <= 1:
        raise parsing_error(f"[tokens_weight_threshold] must be between [0] and [1], got {weight}")
    return PruningConfig(ratio, weight, raw.get("only_score_pruned_tokens") is True)


@dataclass(frozen=True)
class FieldStats:
    """A sparse field's Lucene statistics: documents holding it, per-token document frequency, ``sumDocFreq``."""

    doc_count: int
    doc_freq: dict[str, int]
    sum_doc_freq: int

    @property
    def average_ratio(self) -> float:
        """``sumDocFreq / docCount / unique tokens`` (0 on an empty field)."""
        if not self.doc_freq or not self.doc_count:
            return 0.0
        return self.sum_doc_freq / self.doc_count / len(self.doc_freq)


def field_stats(corpus: Corpus, field: str) -> FieldStats:
    """The statistics of a ``sparse_vector`` field (built once per corpus)."""
    key = "\0sparse-stats:" + field
    cache = corpus.__dict__.setdefault("_vector_cache", {})
    if key not in cache:
        freq: dict[str, int] = {}
        docs = 0
        for source in corpus.sources:
            tokens = {str(t) for v in values_at(source, field) if isinstance(v, dict) for t in v}
            if tokens:
                docs += 1
                for t in tokens:
                    freq[t] = freq.get(t, 0) + 1
        cache[key] = FieldStats(docs, freq, sum(freq.values()))
    stats: FieldStats = cache[key]
    return stats


def kept_tokens(weights: tuple[tuple[str, float], ...], stats: FieldStats,
                config: PruningConfig) -> tuple[tuple[str, float], ...]:
    """The query tokens left after pruning (or the pruned ones, with ``only_score_pruned_tokens``)."""
    best = max((w for _, w in weights), default=0.0)
    average = stats.average_ratio
    out = []
    for token, weight in weights:
        df = stats.doc_freq.get(token, 0)
        keep = df > 0 and (df / stats.doc_count < config.tokens_freq_ratio_threshold * average
                           or weight > config.tokens_weight_threshold * best)
        if keep != config.only_score_pruned_tokens:
            out.append((token, weight))
    return tuple(out)


@dataclass(frozen=True)
class PrunedSparse:
    """A sparse query whose tokens are pruned against the searched corpus's statistics."""

    inner: SparseVector
    config: PruningConfig

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        raise parsing_error("[sparse_vector] queries with [prune] are only supported in [_search]")

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        stats = field_stats(corpus, self.inner.field)
        if stats.average_ratio == 0:
            return {}  # Elasticsearch: "query is against an empty field"
        kept = kept_tokens(self.inner.weights, stats, self.config)
        return SparseVector(self.inner.field, kept, self.inner.boost).score(corpus, evaluate) if kept else {}


def parse_sparse_vector(spec: dict[str, Any], context: ParseContext) -> Query:
    """``sparse_vector`` with ``prune`` (``pruning_config`` applies only when ``prune`` is true, as in
    Elasticsearch)."""
    base = sparse_vector_query(spec, context)
    config = parse_config(spec.get("pruning_config"))
    prune = spec.get("prune", False)
    if not isinstance(prune, bool):
        raise parsing_error(f"[sparse_vector] failed to parse field [prune]: [{prune}] is not a boolean")
    return PrunedSparse(base, config) if prune else base


def parse_text_expansion(spec: dict[str, Any], context: ParseContext) -> Query:
    """``text_expansion``: pruned when it has a ``pruning_config``."""
    base = text_expansion_query(spec, context)
    options = next((v for k, v in spec.items() if k not in ("boost", "_name")), None)
    raw = options.get("pruning_config") if isinstance(options, dict) else None
    return PrunedSparse(base, parse_config(raw)) if raw is not None else base
