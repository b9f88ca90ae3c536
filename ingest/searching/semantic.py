"""The ``semantic`` query on ``semantic_text`` fields (Elasticsearch 8.15+): the query text embedded with the
field's ``search_inference_id``, each document scored by its best chunk (``ingest.semantic.query``).

Two steps, because parsing sees no mapping: :func:`resolve_semantic` (with the indices' mappings and the
inference API) puts the embedded query under ``query_vector``; the parsed :class:`Semantic` node then scores the
corpus, whose stored sources keep ``_inference_fields``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import ParseContext, Query, parsing_error
from ingest.searching.corpus import Corpus
from ingest.searching.queries import Evaluate
from ingest.semantic.fields import semantic_fields
from ingest.semantic.query import score_documents, semantic_field


@dataclass(frozen=True)
class _Doc:
    id: str
    source: dict[str, Any]


@dataclass(frozen=True)
class Semantic:
    """``{"semantic": {"field", "query"}}``, its query embedded (``query_vector``) before the search runs."""

    field: str
    vector: Any = None
    boost: float = 1.0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        raise parsing_error("[semantic] queries are only supported in [_search]")

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        if self.vector is None:
            raise parsing_error(f"[semantic] query on [{self.field}] was not embedded before the search")
        ordinal = {doc_id: n for n, doc_id in enumerate(corpus.ids)}
        docs = (_Doc(i, s) for i, s in zip(corpus.ids, corpus.sources, strict=True))
        return {ordinal[h.id]: h.score * self.boost for h in score_documents(docs, self.field, self.vector)}


def parse_semantic(spec: dict[str, Any], context: ParseContext) -> Query:
    """The ``semantic`` query's parser (``register_query``)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
        raise parsing_error("[semantic] requires a [field]")
    if "query" not in spec and "query_vector" not in spec:
        raise parsing_error("[semantic] requires a [query]")
    unknown = sorted(set(spec) - {"field", "query", "query_vector", "boost", "_name"})
    if unknown:
        raise parsing_error(f"[semantic] unknown field [{unknown[0]}]")
    vector = spec.get("query_vector")
    if isinstance(vector, list):
        vector = tuple(float(v) for v in vector)
    return Semantic(spec["field"], vector, float(spec.get("boost", 1.0)))


def resolve_semantic(body: Any, props: dict[str, dict[str, Any]], api: Any) -> Any:
    """``body`` with every ``semantic`` query's text embedded by its field's ``search_inference_id`` (from the
    first target index that maps the field as ``semantic_text``; Elasticsearch's 400 when none does)."""
    if isinstance(body, list):
        return [resolve_semantic(v, props, api) for v in body]
    if not isinstance(body, dict):
        return body
    out = {k: resolve_semantic(v, props, api) for k, v in body.items()}
    spec = out.get("semantic")
    if isinstance(spec, dict) and "query" in spec and isinstance(spec.get("field"), str):
        field = spec["field"]
        mapped = [f for p in props.values() for f in semantic_fields(p) if f.path == field]
        if not mapped:
            first = next(iter(props.values()), {})
            semantic_field(first, field)  # Elasticsearch's 400 naming the field's type
            raise ElasticsearchError(f"Field [{field}] is not a [semantic_text] field", status=400,
                                     error_type="query_shard_exception")
        results = api.infer(mapped[0].search_inference_id, [str(spec["query"])], input_type="search")
        vector = results.embeddings[0]
        vector = vector.tolist() if hasattr(vector, "tolist") else {str(k): float(v) for k, v in dict(vector).items()}
        out["semantic"] = {"field": field, "query_vector": vector,
                           **{k: v for k, v in spec.items() if k in ("boost", "_name")}}
    return out
