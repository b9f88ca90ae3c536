"""The ``semantic`` query on the embedded store: the query text embedded by the field's
``search_inference_id`` (else its ``inference_id``), scored against every stored chunk of the field, each
document scored by its best chunk (Elasticsearch's nested ``max`` over the chunks).

Scores are Elasticsearch's: dense chunks by the similarity the field's model settings name (cosine and
dot_product ``(1 + s) / 2``, l2_norm ``1 / (1 + d²)``, max_inner_product ``d < 0 ? 1 / (1 - d) : d + 1``), sparse
chunks by the dot product of the token weights. Exact (every chunk is scored); a search engine plugs this in as
the ``semantic`` query type and may add an index later."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ingest.models.errors import ElasticsearchError
from ingest.processors.protocols import InferenceClient
from ingest.semantic.fields import INFERENCE_FIELDS, SemanticField, semantic_fields


@dataclass(frozen=True)
class SemanticHit:
    """A matching document: its score (its best chunk's) and that chunk (offsets into the field's text, for
    ``semantic`` highlighting)."""

    id: str
    score: float
    chunk: int
    start_offset: int
    end_offset: int
    ranked: tuple[tuple[float, int, int], ...] = ()  # every chunk's (score, start, end), best first (highlights)


class StoredDocument(Protocol):
    """A stored document (``ingest.sinks.bulk.apply.StoredDoc``)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> dict[str, Any]: ...


class ScannableIndex(Protocol):
    """What the query reads of the store (``EmbeddedStore``): the mapping and every document."""

    def properties(self, index: str) -> dict[str, dict[str, Any]]: ...
    def scan(self, index: str, page: int = 1000) -> Iterator[list[Any]]: ...


def semantic_field(properties: Mapping[str, Any], path: str) -> SemanticField:
    """The ``semantic_text`` field at ``path``; Elasticsearch's 400 when the field is of another type."""
    for field in semantic_fields(properties):
        if field.path == path:
            return field
    raise ElasticsearchError(f"Field [{path}] of type [{_type_of(properties, path)}] does not support [semantic] "
                             "queries", status=400, error_type="query_shard_exception")


def _type_of(properties: Mapping[str, Any], path: str) -> str:
    node: Any = {"properties": properties}
    for part in path.split("."):
        node = (node.get("properties") or {}).get(part) if isinstance(node, Mapping) else None
    return str(node.get("type", "object")) if isinstance(node, Mapping) else "unmapped"


def semantic_search(store: ScannableIndex, index: str, field: str, query: str, api: InferenceClient
                    ) -> list[SemanticHit]:
    """Every document of ``index`` with chunks for ``field``, best first, scored against ``query``."""
    spec = semantic_field(store.properties(index), field)
    results = api.infer(spec.search_inference_id, [query], input_type="search")
    embeddings = getattr(results, "embeddings", None)
    if isinstance(embeddings, np.ndarray) and len(embeddings):
        vector: Any = embeddings[0]
    elif isinstance(embeddings, list) and embeddings:
        vector = {str(k): float(v) for k, v in dict(embeddings[0]).items()}
    else:
        raise ElasticsearchError(f"inference endpoint [{spec.search_inference_id}] returns "
                                 f"[{getattr(results, 'task_type', '?')}] results, which cannot query [{field}]",
                                 status=400, error_type="illegal_argument_exception")
    docs = (d for page in store.scan(index) for d in page)
    return score_documents(docs, field, vector)


def score_documents(docs: Iterable[StoredDocument], field: str, query: Any) -> list[SemanticHit]:
    """Best-chunk scores of ``docs`` for an embedded ``query`` (a dense vector or ``{token: weight}``)."""
    hits = []
    for doc in docs:
        entry = (doc.source.get(INFERENCE_FIELDS) or {}).get(field)
        inference = entry.get("inference") if isinstance(entry, Mapping) else None
        if not isinstance(inference, Mapping):
            continue
        chunks = (inference.get("chunks") or {}).get(field) or []
        if not chunks:
            continue
        similarity = str((inference.get("model_settings") or {}).get("similarity") or "cosine")
        scores = [_score(query, c.get("embeddings"), similarity) for c in chunks]
        best = int(np.argmax(scores))
        ranked = sorted(((float(sc), int(c["start_offset"]), int(c["end_offset"])) for sc, c in zip(scores, chunks,
                                                                                                 strict=True)),
                        key=lambda r: (-r[0], r[1]))
        hits.append(SemanticHit(doc.id, float(scores[best]), best, int(chunks[best]["start_offset"]),
                                int(chunks[best]["end_offset"]), tuple(ranked)))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits


def _score(query: Any, chunk: Any, similarity: str) -> float:
    if isinstance(query, Mapping) or isinstance(chunk, Mapping):
        if not (isinstance(query, Mapping) and isinstance(chunk, Mapping)):
            return 0.0
        return float(sum(float(w) * float(chunk.get(t, 0.0)) for t, w in query.items()))
    q = np.asarray(query, dtype=np.float64)
    v = np.asarray(chunk, dtype=np.float64)
    if q.shape != v.shape:
        raise ElasticsearchError(f"the query vector has [{q.shape[0]}] dimensions, the field's chunks "
                                 f"[{v.shape[0] if v.ndim else 0}]", status=400,
                                 error_type="illegal_argument_exception")
    if similarity == "l2_norm":
        return float(1.0 / (1.0 + float(np.sum((q - v) ** 2))))
    dot = float(q @ v)
    if similarity == "max_inner_product":
        return 1.0 / (1.0 - dot) if dot < 0 else dot + 1.0
    if similarity == "cosine":
        norm = float(np.linalg.norm(q) * np.linalg.norm(v))
        dot = dot / norm if norm else 0.0
    return (1.0 + dot) / 2.0


def chunk_text(source: Mapping[str, Any], field: str, start: int, end: int) -> str:
    """The text of a chunk, cut from the document's field by its offsets (a list's values joined by one
    character, as the offsets count them): what ``semantic`` highlighting shows."""
    value: Any = source.get(field) if field in source else None
    if value is None:
        node: Any = source
        for part in field.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        value = node
    values = value if isinstance(value, list) else [value]
    text = "\0".join("true" if v is True else "false" if v is False else str(v) for v in values if v is not None)
    return text[start:end]
