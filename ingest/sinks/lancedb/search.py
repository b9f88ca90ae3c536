"""Vector search on a Lance table with Elasticsearch's ``_score`` for each similarity."""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import FieldHint

# LanceDB's metric per Elasticsearch similarity; its distances are 1 - cos, 1 - dot and the squared L2.
_METRIC = {"cosine": "cosine", "dot_product": "dot", "max_inner_product": "dot", "l2_norm": "l2"}


def es_score(similarity: str, distance: float) -> float:
    """Elasticsearch's k-NN ``_score`` from LanceDB's distance."""
    if similarity in ("cosine", "dot_product"):
        return (2.0 - distance) / 2.0  # (1 + similarity) / 2
    if similarity == "max_inner_product":
        ip = 1.0 - distance
        return 1.0 / (1.0 - ip) if ip < 0 else ip + 1.0
    return 1.0 / (1.0 + distance)  # l2_norm: 1 / (1 + l2²)


def dense_hits(table: Any, column: str, hint: FieldHint, query: np.ndarray, k: int) -> list[tuple[str, float]]:
    """(``_id``, score) of the ``k`` nearest documents."""
    if query.shape != (int(hint.dims or 0),):
        raise IllegalArgumentException(f"the query vector has {query.size} dimensions, the field has [{hint.dims}]")
    similarity = hint.similarity or "cosine"
    rows = (table.search(query, vector_column_name=column).metric(_METRIC[similarity]).limit(k)
            .select(["_id", "_distance"]).to_arrow().to_pylist())
    return [(str(r["_id"]), es_score(similarity, float(r["_distance"]))) for r in rows]


def sparse_hits(table: Any, column: str, weights: dict[str, float], k: int) -> list[tuple[str, float]]:
    """(``_id``, dot product) of the ``k`` best documents sharing a token with the query (a full scan)."""
    query = {str(t): float(w) for t, w in weights.items()}
    scored: list[tuple[str, float]] = []
    reader = table.search().select(["_id", column]).limit(None).to_batches()
    for batch in reader:
        for doc_id, tokens in zip(batch.column("_id").to_pylist(), batch.column(column).to_pylist(), strict=True):
            score = sum(w * query[t] for t, w in tokens or () if t in query)
            if score > 0:
                scored.append((str(doc_id), score))
    scored.sort(key=lambda hit: (-hit[1], hit[0]))
    return scored[:k]
