"""Skip-unchanged cache: texts already embedded by the same endpoint and model version are not sent again.

It wraps the :class:`~ingest.models.api.InferenceAPI` the pipeline is built with: ``infer`` looks every input up by
(model version, input type, SHA-256 of the text), sends only the misses to the model, and stores what comes
back. Wrapping the API (rather than pre-filling rows before the pipeline) keeps the pipeline unaware of the
cache and works for any processor that calls an endpoint. Only embeddings are cached, and only calls without
per-call task settings, since those could change the vectors.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.jobs.faults import fault
from ingest.models.home import ingest_home
from ingest.models.results import SparseEmbeddingResults, TextEmbeddingResults
from ingest.models.sqlitedb import open_wal

if TYPE_CHECKING:
    from ingest.models.api import InferenceAPI
    from ingest.models.services.base import EndpointConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_version TEXT NOT NULL,
    input_type TEXT NOT NULL,
    text_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (model_version, input_type, text_hash)
) WITHOUT ROWID;
"""


class EmbeddingCache:
    """SQLite table of vectors keyed by (model version, input type, text hash)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ingest_home() / "embedding_cache.sqlite"
        self._lock = threading.Lock()
        self._db = open_wal(self.path, shared=True, synchronous_normal=True)
        self._db.executescript(_SCHEMA)

    def get_many(self, version: str, input_type: str, hashes: list[bytes]) -> dict[bytes, tuple[str, bytes]]:
        """Cached (kind, value) per hash, for the hashes present."""
        found: dict[bytes, tuple[str, bytes]] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT text_hash, kind, value FROM embeddings WHERE model_version = ? AND input_type = ?"
                    f" AND text_hash IN ({marks})",
                    [version, input_type, *part],
                ).fetchall()
                found.update({bytes(h): (k, bytes(v)) for h, k, v in rows})
        return found

    def put_many(self, version: str, input_type: str, items: list[tuple[bytes, str, bytes]]) -> None:
        """Store (hash, kind, value) rows."""
        if not items:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?)",
                [(version, input_type, h, k, v) for h, k, v in items],
            )
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def text_hash(text: str) -> bytes:
    """SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class CachingInference:
    """The inference client of a job's pipelines (``ingest.processors.protocols.InferenceClient``): answers embedding
    calls from the cache when it can; ``endpoint`` and ``model_version`` are the wrapped API's."""

    def __init__(self, api: InferenceAPI, cache: EmbeddingCache | None) -> None:
        self._api = api
        self._cache = cache
        self._versions: dict[str, str] = {}
        self.hits = 0
        self.misses = 0

    def endpoint(self, inference_id: str) -> EndpointConfig:
        """The endpoint's configuration (the wrapped API's)."""
        return self._api.endpoint(inference_id)

    def model_version(self, inference_id: str) -> str:
        """What produces the endpoint's results (the cache's key; the wrapped API's)."""
        return self._api.model_version(inference_id)

    def _version(self, inference_id: str) -> str:
        if inference_id not in self._versions:
            self._versions[inference_id] = str(self._api.model_version(inference_id))
        return self._versions[inference_id]

    def infer(self, inference_id: str, inputs: str | list[str], **kwargs: Any) -> Any:
        """``InferenceAPI.infer`` with cached embeddings; the result lists every input in order."""
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        cacheable = self._cache is not None and not kwargs.get("task_settings") and kwargs.get("query") is None
        if not cacheable or not texts:
            return self._call(inference_id, inputs, kwargs)
        assert self._cache is not None
        try:
            version = self._version(inference_id)
        except Exception:  # unknown endpoint or no version: the call itself reports what is wrong
            return self._call(inference_id, inputs, kwargs)
        input_type = str(kwargs.get("input_type") or "")
        hashes = [text_hash(t) for t in texts]
        cached = self._cache.get_many(version, input_type, list(set(hashes)))
        miss_idx = [i for i, h in enumerate(hashes) if h not in cached]
        self.hits += len(texts) - len(miss_idx)
        self.misses += len(miss_idx)
        fresh: Any = None
        if miss_idx:
            fresh = self._call(inference_id, [texts[i] for i in miss_idx], kwargs)
            if not isinstance(fresh, TextEmbeddingResults | SparseEmbeddingResults):
                return fresh if len(miss_idx) == len(texts) else self._call(inference_id, inputs, kwargs)
            self._cache.put_many(version, input_type, _encode(fresh, [hashes[i] for i in miss_idx]))
            if len(miss_idx) == len(texts):
                return fresh
            for j, i in enumerate(miss_idx):
                cached[hashes[i]] = _encode_one(fresh, j)
        return _decode([cached[h] for h in hashes])

    def _call(self, inference_id: str, inputs: Any, kwargs: dict[str, Any]) -> Any:
        result = self._api.infer(inference_id, inputs, **kwargs)
        fault("inference")
        return result


def _encode_one(result: TextEmbeddingResults | SparseEmbeddingResults, j: int) -> tuple[str, bytes]:
    if isinstance(result, TextEmbeddingResults):
        return "dense", np.asarray(result.embeddings[j], dtype=np.float32).tobytes()
    truncated = bool(result.truncated[j]) if result.truncated else False
    return "sparse", json.dumps([result.embeddings[j], truncated]).encode()


def _encode(result: TextEmbeddingResults | SparseEmbeddingResults, hashes: list[bytes]) -> list[tuple[bytes, str, bytes]]:
    return [(h, *_encode_one(result, j)) for j, h in enumerate(hashes)]


def _decode(values: list[tuple[str, bytes]]) -> TextEmbeddingResults | SparseEmbeddingResults:
    if values[0][0] == "dense":
        return TextEmbeddingResults(np.stack([np.frombuffer(v, dtype=np.float32) for _, v in values]))
    pairs = [json.loads(v) for _, v in values]
    return SparseEmbeddingResults([p[0] for p in pairs], [bool(p[1]) for p in pairs])
