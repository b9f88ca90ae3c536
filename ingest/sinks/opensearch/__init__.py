"""OpenSearch sink through ``opensearch-py`` (the ``opensearch`` extra).

Dense vectors map to ``knn_vector`` with HNSW on the Lucene engine (FAISS/nmslib need native libraries a
plain node may lack) and the index gets ``index.knn: true``; sparse vectors map to ``rank_features``.
``rank_features`` only takes strictly positive weights, so non-positive ones are dropped from documents
(counted in ``stats``); tokens containing ``.`` are indexed but OpenSearch cannot query them by name (its
``rank_feature`` query splits the field name at the last dot), so they are counted and logged once. The
same clean-up applies to the sparse embeddings of ``<out>_chunks`` fields (see ``ingest.sinks.cluster.chunks``).
"""

from __future__ import annotations

import logging
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.items import copy_path, get_path, set_path
from ingest.sinks.cluster.sink import ClusterSink, error_from_body
from ingest.sinks.elasticsearch.client import split_url

log = logging.getLogger(__name__)

_SPACE = {"cosine": "cosinesimil", "dot_product": "innerproduct", "max_inner_product": "innerproduct",
          "l2_norm": "l2"}


class OpenSearchSink(ClusterSink):
    """Bulk writes to an OpenSearch cluster."""

    distribution = "opensearch"

    def __init__(self, url: str, *, timeout_s: float = 60.0, verify_certs: bool = True, **_: Any) -> None:
        super().__init__()
        try:
            from opensearchpy import OpenSearch
        except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
            raise ElasticsearchError("the OpenSearch sink needs opensearch-py: pip install 'ingest[opensearch]'",
                                     status=400, error_type="illegal_argument_exception") from exc
        base, auth = split_url(url)
        self.base = base
        self.client = OpenSearch(hosts=[base], http_auth=auth, timeout=timeout_s, verify_certs=verify_certs,
                                 max_retries=0, retry_on_timeout=False, pool_maxsize=8)
        self._sparse: dict[str, list[str]] = {}  # index -> sparse field paths
        self.stats = {"dropped_weights": 0, "dotted_tokens": 0}

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              ndjson: bool = False, ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        from opensearchpy.exceptions import ConnectionError as OSConnectionError
        from opensearchpy.exceptions import TransportError

        headers = {"content-type": "application/x-ndjson" if ndjson else "application/json"}
        try:
            resp = self.client.transport.perform_request(method, path, params=params, body=body, headers=headers)
            return 200, resp
        except OSConnectionError as exc:
            raise ElasticsearchError(f"OpenSearch at {self.base} is unavailable: {exc.error}", status=503,
                                     error_type="unavailable") from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 500
            body_out = exc.info if isinstance(exc.info, dict) else {}
            if status in ignore:
                return status, body_out
            raise error_from_body(status, body_out or {"error": {"reason": str(exc.error)}}, f"{method} {path}") from None

    def index_settings(self) -> dict[str, Any]:
        """``index.knn: true`` (required for ``knn_vector`` HNSW fields)."""
        return {"index": {"knn": True}}

    def field_mapping(self, hint: FieldHint) -> dict[str, Any]:
        """``knn_vector`` (hnsw / lucene / space from the similarity) or ``rank_features``."""
        if hint.kind == "dense":
            space = _SPACE.get(hint.similarity or "cosine", "cosinesimil")
            return {"type": "knn_vector", "dimension": hint.dims,
                    "method": {"name": "hnsw", "engine": "lucene", "space_type": space}}
        return {"type": "rank_features"}

    def same_field(self, existing: dict[str, Any], hint: FieldHint) -> bool:
        """Same vector type (and dimension for dense)."""
        if hint.kind == "dense":
            return existing.get("type") == "knn_vector" and existing.get("dimension") == hint.dims
        return existing.get("type") == "rank_features"

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create/extend the index and remember its sparse fields (to clean their weights)."""
        super().ensure_index(index, hints)
        self._sparse[index] = sorted({*self._sparse.get(index, []), *(p for p, h in hints.items() if h.kind == "sparse")})

    def clean_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """Only strictly positive weights (what ``rank_features`` takes); drops and dotted tokens are counted."""
        kept = {t: w for t, w in weights.items() if isinstance(w, int | float) and not isinstance(w, bool) and w > 0}
        dotted = sum(1 for t in kept if "." in t)
        if dotted and not self.stats["dotted_tokens"]:
            log.warning("rank_features fields get tokens containing '.': they are indexed but OpenSearch cannot "
                        "query them by name")
        self.stats["dotted_tokens"] += dotted
        self.stats["dropped_weights"] += len(weights) - len(kept)
        return kept

    def prepare_source(self, source: dict[str, Any], index: str) -> dict[str, Any]:
        """Drop non-positive weights from ``rank_features`` fields; count dotted tokens."""
        paths = self._sparse.get(index)
        if not paths:
            return source
        out = source
        for path in paths:
            found, value = get_path(source, path)
            if not found or not isinstance(value, dict):
                continue
            kept = self.clean_weights(value)
            if len(kept) != len(value):
                # Copy along every path: objects a shallower path left shared would otherwise be changed in
                # the caller's document (kept for retries and dead letters).
                out = copy_path(out, path)
                set_path(out, path, kept)
        return out

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
