"""The ``linear`` and ``text_similarity_reranker`` retrievers (``standard``, ``knn`` and ``rrf`` are in
``request``, which runs the child retrievers these combine).

``linear``: each child's top ``rank_window_size`` hits, their scores normalized (``minmax``: ``(s - min) /
(max - min)``, every score unchanged when they are all equal; ``none``: as they are), times the child's ``weight``,
summed per document (a document a child did not return adds 0), as Elasticsearch's ``LinearRetrieverBuilder``.

``text_similarity_reranker``: the child's top ``rank_window_size`` hits, the text of ``field`` of each sent with
``inference_text`` to the ``rerank`` endpoint ``inference_id`` (through the application's inference API); the
relevance scores become the hits' scores, below ``min_score`` dropped."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parsing_error, values_at
from ingest.searching.corpus import Corpus

DEFAULT_RERANK_ID = ".rerank-v1-elasticsearch"  # Elasticsearch 9's default rerank endpoint
_NORMALIZERS = ("none", "minmax")


class ScoredHit(Protocol):
    """A hit as the retrievers see it (``request.Hit``)."""

    corpus: Corpus
    ordinal: int
    score: float


H = TypeVar("H", bound=ScoredHit)
Run = Callable[[Any], list[H]]


class Reranker(Protocol):
    """The inference API's call a reranker makes (``InferenceAPI.infer`` with ``query``)."""

    def infer(self, inference_id: str, inputs: list[str], *, query: str | None = None) -> Any:
        """Relevance of ``inputs`` to ``query`` (``RerankResults``)."""
        ...


def _window(options: dict[str, Any], size: int) -> int:
    window = int(options.get("rank_window_size", max(size, 10)))
    if window < 1:
        raise parsing_error("[rank_window_size] must be greater than [0]")
    return window


def _ranked(hits: list[H]) -> list[H]:
    return sorted(hits, key=lambda h: (-h.score, h.corpus.index, h.ordinal))


def normalize(hits: list[H], normalizer: str) -> list[float]:
    """The hits' scores under a normalizer (``minmax`` or ``none``)."""
    scores = [h.score for h in hits]
    if normalizer == "none" or not scores:
        return scores
    low, high = min(scores), max(scores)
    if abs(high - low) < 1e-6:
        return scores
    return [(s - low) / (high - low) for s in scores]


def linear(options: dict[str, Any], run: Run[H], size: int) -> list[H]:
    """The ``linear`` retriever's hits, best first (at most ``rank_window_size``)."""
    window = _window(options, size)
    children = options.get("retrievers")
    if not isinstance(children, list) or not children:
        raise parsing_error("[linear] requires at least one entry in [retrievers]")
    default = str(options.get("normalizer", "none"))
    fused: dict[tuple[str, int], H] = {}
    for child in children:
        if not isinstance(child, dict) or "retriever" not in child:
            raise parsing_error("[linear] each entry of [retrievers] needs a [retriever]")
        weight = float(child.get("weight", 1.0))
        if weight < 0:
            raise parsing_error("[weight] must be non-negative")
        normalizer = str(child.get("normalizer", default))
        if normalizer not in _NORMALIZERS:
            raise parsing_error(f"Unknown normalizer [{normalizer}]")
        top = run(child["retriever"])[:window]
        for hit, score in zip(top, normalize(top, normalizer), strict=True):
            key = (hit.corpus.index, hit.ordinal)
            if key not in fused:
                fused[key] = dataclasses.replace(hit, score=0.0)  # type: ignore[type-var]
            fused[key].score += weight * score
    return _ranked(list(fused.values()))[:window]


def _text(hit: ScoredHit, field: str) -> str:
    values = [v for v in values_at(hit.corpus.sources[hit.ordinal], field) if not isinstance(v, (dict, list))]
    return " ".join(str(v) for v in values)


def rerank(options: dict[str, Any], run: Run[H], size: int, api: Reranker | None) -> list[H]:
    """The ``text_similarity_reranker`` retriever's hits, by relevance to ``inference_text``."""
    for key in ("retriever", "field", "inference_text"):
        if key not in options:
            raise parsing_error(f"[text_similarity_reranker] requires [{key}]")
    if api is None:
        raise parsing_error("[text_similarity_reranker] needs the application's inference API")
    window = _window(options, size)
    minimum = options.get("min_score")
    top = run(options["retriever"])[:window]
    if not top:
        return []
    inference_id = str(options.get("inference_id", DEFAULT_RERANK_ID))
    results = api.infer(inference_id, [_text(h, str(options["field"])) for h in top],
                        query=str(options["inference_text"]))
    ranked = getattr(results, "ranked", None)
    if ranked is None:
        raise ElasticsearchError(f"Inference endpoint [{inference_id}] is not a [rerank] endpoint: the "
                                 "[text_similarity_reranker] needs relevance scores", status=400,
                                 error_type="illegal_argument_exception")
    out = [dataclasses.replace(top[r.index], score=float(r.relevance_score)) for r in ranked]
    if minimum is not None:
        out = [h for h in out if h.score >= float(minimum)]
    return _ranked(out)
