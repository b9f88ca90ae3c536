"""The embedded store of a home while ``ingest serve`` owns it: the server's REST API, as a cluster sink.

DuckDB admits one process per store file, so a job (or ``ingest export``, ``ingest indices``…) started while a
server runs on the same home writes and reads through that server instead of opening the file
(``AppContext.open_sink`` picks this sink when ``ingest.presence`` finds a live server). The job has
already run the index's pipelines itself, as it does writing directly, so its ``_bulk`` requests say
``pipeline=_none`` (the server must not run the default pipeline a second time) and carry ``PIPELINES_DONE``
(nor the final pipeline, which Elasticsearch runs even after ``_none``; the server trusts it from the local
client only).

When the server goes away (killed, restarted), requests fail as unavailable (503), which a job waits out with
its backoff (``unavailable_timeout_s``); each failure asks ``locate`` for the home's server again, so a
restarted server (new port, new token) is picked up and the job goes on.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import ItemResult
from ingest.sinks.cluster.sink import error_from_body
from ingest.sinks.elasticsearch import ElasticsearchSink
from ingest.sinks.elasticsearch.client import connect
from ingest.sinks.served.wire import (
    ARROW_MEDIA_TYPE,
    ARROW_PATH,
    PIPELINES_DONE,
    decode_results,
    encode_batch,
)

Locate = Callable[[], tuple[str, str] | None]  # the home's live server now: (url, token), or None


class ServedSink(ElasticsearchSink):
    """Bulk writes and reads through the local server of the home, authenticated by its local token."""

    kind_name = "served"  # what it can do: ``ingest.sinks.registry.KINDS``

    def __init__(self, url: str, *, token: str, locate: Locate | None = None, timeout_s: float = 120.0) -> None:
        self._at, self._locate, self._timeout_s = (url, token), locate, timeout_s
        self._conns = threading.local()  # one keep-alive connection per sending thread for the Arrow route
        # Loopback only (the token is refused from elsewhere); the server's certificate is the home's own,
        # self-signed one, which the client has no CA file for.
        super().__init__(url, api_key=token, timeout_s=timeout_s, verify_certs=not url.startswith("https:"))

    def _headers(self, ndjson: bool) -> dict[str, str]:
        # NDJSON is a _bulk: the job ran its documents' pipelines, the final one included (trusted from us only)
        return {**super()._headers(ndjson), PIPELINES_DONE: "true"} if ndjson else super()._headers(ndjson)

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              ndjson: bool = False, ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        if path == "/_bulk":
            params = {**(params or {}), "pipeline": "_none"}
        try:
            return super()._call(method, path, params=params, body=body, ndjson=ndjson, ignore=ignore)
        except ElasticsearchError as exc:
            if exc.status not in (401, 503) or not self._moved():
                raise
            return super()._call(method, path, params=params, body=body, ndjson=ndjson, ignore=ignore)

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str]) -> list[ItemResult]:
        """``BatchWrites.write_batch`` on the server's store: the batch stays Arrow (an IPC stream to the local-only
        ``ARROW_PATH``), and the server writes it as a job alone would (``EmbeddedStore.write_batch``)."""
        if not ids:
            return []
        parts = encode_batch(index, table, ids)
        try:
            status, body = self._post_arrow(parts)
        except ElasticsearchError as exc:
            if exc.status not in (401, 503) or not self._moved():
                raise
            status, body = self._post_arrow(parts)
        if status >= 300:
            raise error_from_body(status, body, f"POST {ARROW_PATH}")
        return decode_results(body)

    def _post_arrow(self, parts: list[bytes | pa.Buffer]) -> tuple[int, Any]:
        url, token = self._at
        conn: http.client.HTTPConnection | None = getattr(self._conns, "conn", None)
        if conn is None or getattr(self._conns, "url", None) != url:
            conn = connect_local(url, self._timeout_s)
            self._conns.conn, self._conns.url = conn, url
        try:
            conn.putrequest("POST", ARROW_PATH)
            for name, value in (("authorization", f"ApiKey {token}"), ("content-type", ARROW_MEDIA_TYPE),
                                ("accept", "application/json"),
                                ("content-length", str(sum(len(p) for p in parts)))):
                conn.putheader(name, value)
            conn.endheaders()
            for part in parts:
                conn.send(memoryview(part))
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._conns.conn = None
            raise ElasticsearchError(f"the home's server at {url} is unavailable: {exc}", status=503,
                                     error_type="unavailable") from None
        try:
            return resp.status, json.loads(raw) if raw else {}
        except ValueError:
            return resp.status, {"error": {"type": "exception", "reason": raw[:500].decode(errors="replace")}}

    def close(self) -> None:
        """Close the REST client and this thread's Arrow connection."""
        conn = getattr(self._conns, "conn", None)
        if conn is not None:
            conn.close()
        super().close()

    def _moved(self) -> bool:
        """Whether the home's server changed (restarted elsewhere); if so, connect to the new one."""
        found = self._locate() if self._locate is not None else None
        if found is None or found == self._at:
            return False
        url, token = found
        try:
            client, major = connect(url, api_key=token, timeout_s=self._timeout_s,
                                    verify_certs=not url.startswith("https:"))
        except ElasticsearchError:
            return False
        self.client.close()
        self.client, self.major, self._at = client, major, found
        return True


    # The server's store is the embedded one, whose load hooks and refresh do nothing (a committed write is
    # visible at once): no settings dance of a cluster's bulk load, no round trips for it.

    def begin_load(self, index: str) -> None:
        """Nothing to prepare (the embedded store's ``begin_load``)."""

    def end_load(self, index: str) -> None:
        """Nothing to undo (the server snapshots the index for analysts once the job's writes stop)."""

    def refresh(self, index: str) -> None:
        """Nothing to do: the server's committed writes are visible at once."""

    def search(self, index: str, field: str, vector_or_weights: list[float] | dict[str, float], k: int
               ) -> list[dict[str, Any]]:
        """``Searching.search`` through the server's ``_search``: a ``knn`` on a dense field, a
        ``sparse_vector`` query with the weights on a sparse one (``ingest search INDEX TEXT``)."""
        if isinstance(vector_or_weights, dict):
            body: dict[str, Any] = {"size": k, "query": {"sparse_vector": {
                "field": field, "query_vector": vector_or_weights}}}
        else:
            body = {"size": k, "knn": {"field": field, "query_vector": list(vector_or_weights), "k": k,
                                       "num_candidates": max(k, 100)}}
        _, answer = self.request("POST", f"/{index}/_search", body=body)
        return [{"_id": hit["_id"], "_score": hit["_score"], "_source": hit.get("_source") or {}}
                for hit in (answer.get("hits") or {}).get("hits") or []]


class _NoDelay(http.client.HTTPConnection):
    """A connection that sends at once: a request's header and body are separate writes, and with Nagle's
    algorithm the body's last segment would wait for the server's delayed ACK (up to 40 ms a request)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayTLS(http.client.HTTPSConnection):
    """``_NoDelay`` over TLS."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect_local(url: str, timeout_s: float) -> http.client.HTTPConnection:
    """A keep-alive connection to the home's server at ``url`` that sends each write at once."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "https":  # the home's own self-signed certificate, on loopback (as the REST client)
        return _NoDelayTLS(host, port, timeout=timeout_s, context=ssl._create_unverified_context())
    return _NoDelay(host, port, timeout=timeout_s)


def open_served(url: str, token: str, locate: Locate | None = None) -> ServedSink:
    """The sink of a home's running server at ``url``; ``locate`` finds it again after a restart."""
    return ServedSink(url, token=token, locate=locate)
