"""The search service of one application: corpora loaded from a store (kept while unchanged), query vectors
from the inference API, and the scroll and point-in-time contexts ``helpers.scan`` and ``search_after`` use."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parsing_error
from ingest.query.source import SourceFilter
from ingest.searching.corpus import Corpus
from ingest.searching.request import Hit, SortKey, check, execute, render
from ingest.searching.vectorindex import Approximate, VectorIndexes
from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import StoredDoc

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class SearchableStore(Protocol):
    """What a search reads: the documents of an index and its mapping."""

    def scan(self, index: str, page: int = 1000) -> Any:
        """Pages of ``StoredDoc`` in ``_id`` order."""
        ...

    def properties(self, index: str) -> dict[str, Any]:
        """The index's mapping properties."""
        ...

    def hints(self, index: str) -> dict[str, FieldHint]:
        """The index's vector fields."""
        ...

    def fingerprint(self, index: str) -> tuple[int, int, int]:
        """A cheap summary that changes whenever the index's documents do."""
        ...


class Infer(Protocol):
    """The inference API's call (``InferenceAPI.infer``)."""

    def infer(self, inference_id: str, texts: list[str], *, input_type: str | None = None) -> Any:
        """Embed ``texts``."""
        ...


def keep_alive(value: Any) -> float:
    """Seconds of an Elasticsearch time value (``1m``, ``30s``)."""
    text = str(value).strip()
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * _UNITS[unit]
    raise ElasticsearchError(f"failed to parse setting [keep_alive] with value [{text}] as a time value: unit is "
                             "missing or unrecognized", status=400, error_type="illegal_argument_exception")


def resolve_inference(body: Any, api: Infer | None) -> Any:
    """The body with ``query_vector_builder.text_embedding``, ``sparse_vector``'s ``inference_id``+``query`` and
    ``text_expansion``'s ``model_id``+``model_text`` replaced by the vectors the endpoints return."""
    if isinstance(body, list):
        return [resolve_inference(v, api) for v in body]
    if not isinstance(body, dict):
        return body
    out = {k: resolve_inference(v, api) if k not in ("query_vector_builder", "text_expansion") else v
           for k, v in body.items()}
    builder = out.pop("query_vector_builder", None)
    if isinstance(builder, dict):
        spec = builder.get("text_embedding") or {}
        out["query_vector"] = _embed(api, str(spec.get("model_id")), str(spec.get("model_text", "")))
    if "inference_id" in out and "query" in out and "field" in out and "query_vector" not in out:
        out["query_vector"] = _embed(api, str(out.pop("inference_id")), str(out.pop("query")))
    expansion = out.get("text_expansion")
    if isinstance(expansion, dict):
        out["text_expansion"] = {
            f: {"query_vector": _embed(api, str(o.get("model_id")), str(o.get("model_text", ""))),
                **{k: v for k, v in o.items() if k not in ("model_id", "model_text")}}
            if isinstance(o, dict) and "model_id" in o else o
            for f, o in expansion.items()}
    return out


def _embed(api: Infer | None, inference_id: str, text: str) -> Any:
    if api is None:
        raise parsing_error("query vectors from an inference endpoint need the inference API")
    result = api.infer(inference_id, [text], input_type="search")
    vector = result.embeddings[0]
    return vector.tolist() if hasattr(vector, "tolist") else {str(k): float(v) for k, v in dict(vector).items()}


@dataclass
class _Scroll:
    hits: list[Hit]
    keys: list[SortKey]
    body: dict[str, Any]
    position: int
    size: int
    expires: float
    total: int


@dataclass
class _Pit:
    corpora: list[Corpus]
    props: dict[str, dict[str, Any]]
    expires: float


class SearchService:
    """Corpora, scrolls and points in time of one application (``AppContext.search``)."""

    def __init__(self, knn_exact_below: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.vectors = VectorIndexes(knn_exact_below)  # HNSW side-cars of the stores searched
        self._corpora: dict[tuple[str, str], Corpus] = {}
        self._scrolls: dict[str, _Scroll] = {}
        self._pits: dict[str, _Pit] = {}

    def corpus(self, store: SearchableStore, index: str) -> Corpus:
        """The index's documents as now stored (the cached corpus, with its statistics, when unchanged)."""
        # the summary before the scan: a write during the scan makes the next search read again, never a stale hit
        fingerprint = (store.fingerprint(index),)
        similarities = {f: h.similarity or "cosine" for f, h in store.hints(index).items() if h.kind == "dense"}
        path = getattr(store, "path", None)  # the store's file: its side-cars live beside it
        key = (str(path), index)
        with self._lock:
            cached = self._corpora.get(key)
            if cached is not None and cached.fingerprint == fingerprint and cached.hints == similarities:
                return cached
        docs: list[StoredDoc] = [d for page in store.scan(index, 5000) for d in page]
        corpus = Corpus(index, [d.id for d in docs], [d.source for d in docs], fingerprint, similarities,
                        [d.seq_no for d in docs])
        if isinstance(path, Path):
            corpus.ann = Approximate(self.vectors, path)
            self.vectors.note(path, corpus)
        with self._lock:
            self._corpora[key] = corpus
        return corpus

    def search(self, body: dict[str, Any], corpora: list[Corpus], props: dict[str, dict[str, Any]],
               default_source: SourceFilter, scroll: str | None = None, pit_id: str | None = None,
               api: Any = None) -> dict[str, Any]:
        """The full ``_search`` response (``took``, ``timed_out``, ``_shards``, ``hits``); ``api`` (the inference
        API) serves the ``text_similarity_reranker`` retriever."""
        started = time.monotonic()
        check(body)
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        if start < 0 or size < 0:
            raise parsing_error(f"[{'from' if start < 0 else 'size'}] parameter cannot be negative")
        if scroll is not None and start:
            raise ElasticsearchError("Validation Failed: 1: using [from] is not allowed in a scroll context;",
                                     status=400, error_type="action_request_validation_exception")
        hits, keys = execute(body, corpora, props, pit_tiebreak=pit_id is not None, api=api)
        answer: dict[str, Any] = {}
        if scroll is not None:
            scroll_id = self._new_id()
            with self._lock:
                self._scrolls[scroll_id] = _Scroll(hits, keys, body, size, size, time.monotonic() + keep_alive(scroll),
                                                   len(hits))
            answer["_scroll_id"] = scroll_id
        if pit_id is not None:
            answer["pit_id"] = pit_id
        answer.update(_envelope(started, len(corpora)))
        answer["hits"] = render(hits, keys, body, start, size, default_source)
        return answer

    def scroll(self, scroll_id: str, scroll: str | None, default_source: SourceFilter) -> dict[str, Any]:
        """The next page of a scroll."""
        started = time.monotonic()
        with self._lock:
            self._expire()
            state = self._scrolls.get(scroll_id)
            if state is None:
                raise ElasticsearchError(f"No search context found for id [{scroll_id}]", status=404,
                                         error_type="search_context_missing_exception")
            start = state.position
            state.position += state.size
            if scroll is not None:
                state.expires = time.monotonic() + keep_alive(scroll)
        answer = {"_scroll_id": scroll_id, **_envelope(started, 1)}
        answer["hits"] = render(state.hits, state.keys, state.body, start, state.size, default_source, state.total)
        return answer

    def clear_scroll(self, ids: list[str]) -> int:
        """Free scrolls (``_all``: every one); how many were freed."""
        with self._lock:
            if "_all" in ids:
                n = len(self._scrolls)
                self._scrolls.clear()
                return n
            return sum(1 for i in ids if self._scrolls.pop(i, None) is not None)

    def open_pit(self, corpora: list[Corpus], props: dict[str, dict[str, Any]], alive: str) -> str:
        """A point in time over the corpora as they are now."""
        pit_id = self._new_id()
        with self._lock:
            self._pits[pit_id] = _Pit(corpora, props, time.monotonic() + keep_alive(alive))
        return pit_id

    def pit(self, pit_id: str, alive: str | None) -> tuple[list[Corpus], dict[str, dict[str, Any]]]:
        """The corpora of a point in time (its keep-alive extended when given)."""
        with self._lock:
            self._expire()
            state = self._pits.get(pit_id)
            if state is None:
                raise ElasticsearchError(f"No search context found for id [{pit_id}]", status=404,
                                         error_type="search_context_missing_exception")
            if alive is not None:
                state.expires = time.monotonic() + keep_alive(alive)
            return state.corpora, state.props

    def close_pit(self, pit_id: str) -> int:
        """Free a point in time; 1 when it existed."""
        with self._lock:
            return 1 if self._pits.pop(pit_id, None) is not None else 0

    def _expire(self) -> None:
        now = time.monotonic()
        for table in (self._scrolls, self._pits):
            for key in [k for k, v in table.items() if v.expires < now]:
                del table[key]

    @staticmethod
    def _new_id() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def _envelope(started: float, shards: int) -> dict[str, Any]:
    return {"took": int((time.monotonic() - started) * 1000), "timed_out": False,
            "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0}}

