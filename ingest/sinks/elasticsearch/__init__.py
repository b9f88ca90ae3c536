"""Elasticsearch sink (8.x and 9.x) through the ``elasticsearch`` Python client.

The installed client may be a newer major than the server (a 9.x client sends ``compatible-with=9``, which
Elasticsearch 8 rejects). So requests go through the client's low-level ``perform_request`` with the
media type of the *server's* major, read from ``GET /`` when the sink opens: ES 8 gets
``compatible-with=8`` and ES 9 ``compatible-with=9``, whatever client major is installed.
"""

from __future__ import annotations

from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import FieldHint
from ingest.sinks.cluster.sink import ClusterSink, error_from_body
from ingest.sinks.elasticsearch.client import connect


class ElasticsearchSink(ClusterSink):
    """Bulk writes to an Elasticsearch cluster; ``dense_vector`` and ``sparse_vector`` mappings from hints."""

    distribution = "elasticsearch"

    def __init__(self, url: str, *, api_key: str | None = None, timeout_s: float = 60.0, verify_certs: bool = True,
                 major: int | None = None) -> None:
        super().__init__()
        self.client, self.major = connect(url, api_key=api_key, timeout_s=timeout_s, verify_certs=verify_certs,
                                          major=major)

    def _headers(self, ndjson: bool) -> dict[str, str]:
        kind = "x-ndjson" if ndjson else "json"
        return {
            "accept": f"application/vnd.elasticsearch+json; compatible-with={self.major}",
            "content-type": f"application/vnd.elasticsearch+{kind}; compatible-with={self.major}",
        }

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              ndjson: bool = False, ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        from elastic_transport import ApiError, TransportError

        headers = self._headers(ndjson) if body is not None else {"accept": self._headers(False)["accept"]}
        try:
            resp = self.client.perform_request(method, path, params=params, headers=headers, body=body)
            return resp.meta.status, resp.body
        except ApiError as exc:
            status = int(getattr(exc.meta, "status", 500) or 500)
            if status in ignore:
                return status, exc.body if isinstance(exc.body, dict) else {}
            raise error_from_body(status, exc.body, f"{method} {path}") from None
        except TransportError as exc:
            raise ElasticsearchError(f"Elasticsearch at {self.client_url} is unavailable: {exc.message}",
                                     status=503, error_type="unavailable") from None

    @property
    def client_url(self) -> str:
        node = next(iter(self.client.transport.node_pool.all()), None)
        return f"{node.config.scheme}://{node.config.host}:{node.config.port}" if node else "?"

    def field_mapping(self, hint: FieldHint) -> dict[str, Any]:
        """``dense_vector`` (dims, similarity, indexed for k-NN) or ``sparse_vector``."""
        if hint.kind == "dense":
            return {"type": "dense_vector", "dims": hint.dims, "index": True, "similarity": hint.similarity or "cosine"}
        return {"type": "sparse_vector"}

    def same_field(self, existing: dict[str, Any], hint: FieldHint) -> bool:
        """Same vector type (and dims for dense)."""
        if hint.kind == "dense":
            return existing.get("type") == "dense_vector" and existing.get("dims") == hint.dims
        return existing.get("type") in ("sparse_vector", "rank_features")

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
