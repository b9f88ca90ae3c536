"""An existing Elasticsearch / OpenSearch index as a source: point-in-time + ``search_after``, sliced.

``http(s)://[user:pass@]host:port/index``. Each slice is read by its own thread (``slices`` > 1 reads in
parallel); batches carry the hits' ``_source`` fields plus an ``_id`` column. The position holds the
point-in-time id and each slice's ``search_after`` values. Resuming reuses the point in time while it is
alive (``keep_alive`` is renewed by every page). If it has expired: on OpenSearch (sorted by ``_id``) a new
point in time continues after the same ``_id`` values; on Elasticsearch (sorted by ``_shard_doc``, whose
values belong to one point in time) the index is read again from the start — with ids taken from ``_id``
that rewrites the same documents, so nothing is lost or duplicated.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import pyarrow as pa

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks.cluster.sink import ClusterSink
from ingest.sources.base import Source, SourceBatch
from ingest.sources.rows import to_batches
from ingest.sources.sparse import attach_sparse, pop_sparse, sparse_paths

_END = object()


class IndexSource(Source):
    """Read every document of an index (optionally matching ``query``)."""

    def __init__(self, url: str, *, slices: int = 1, batch_size: int = 1000, query: dict[str, Any] | None = None,
                 keep_alive: str = "10m", index: str | None = None, **options: Any) -> None:
        parsed = urlparse(url)
        name = index or parsed.path.strip("/").split("/")[0]
        if not name:
            raise IllegalArgumentException(f"the source URL must name an index: http(s)://host:port/INDEX, got [{parsed.scheme}://{parsed.hostname}:{parsed.port}{parsed.path}]")
        if slices < 1 or batch_size < 1 or batch_size > 10_000:
            raise IllegalArgumentException("[slices] must be ≥ 1 and [batch_size] in [1, 10000]")
        from ingest.sinks.cluster.detect import open_cluster_sink

        unknown = sorted(set(options) - {"api_key", "timeout_s", "verify_certs"})
        if unknown:
            raise IllegalArgumentException(f"unknown option [{unknown[0]}] for an index source")

        base = urlunparse(parsed._replace(path="", params="", query="", fragment=""))
        sink = open_cluster_sink(base, **options)
        assert isinstance(sink, ClusterSink)
        self.client: ClusterSink = sink
        self.index, self.slices, self.batch_size = name, slices, batch_size
        self.query, self.keep_alive = query or {"match_all": {}}, keep_alive
        self.opensearch = sink.distribution == "opensearch"
        self._pits: list[str] = []
        self._sparse: list[str] | None = None

    def _sparse_paths(self) -> list[str]:
        if self._sparse is None:
            _, body = self.client.request("GET", f"/{self.index}/_mapping")
            props: dict[str, Any] = {}
            for entry in (body or {}).values():
                props.update((entry.get("mappings") or {}).get("properties") or {})
            self._sparse = sparse_paths(props)
        return self._sparse

    # -- point in time ---------------------------------------------------------------------------------------

    def _open_pit(self) -> str:
        if self.opensearch:
            _, body = self.client.request("POST", f"/{self.index}/_search/point_in_time",
                                          params={"keep_alive": self.keep_alive})
            pit = str(body["pit_id"])
        else:
            _, body = self.client.request("POST", f"/{self.index}/_pit", params={"keep_alive": self.keep_alive})
            pit = str(body["id"])
        self._pits.append(pit)
        return pit

    def _close_pit(self, pit: str) -> None:
        try:
            if self.opensearch:
                self.client.request("DELETE", "/_search/point_in_time", body={"pit_id": [pit]}, ignore=(404,))
            else:
                self.client.request("DELETE", "/_pit", body={"id": pit}, ignore=(404,))
        except ElasticsearchError:
            pass  # it expires on its own

    def total_rows(self) -> int | None:
        """Matching documents (``_count``)."""
        _, body = self.client.request("POST", f"/{self.index}/_count", body={"query": self.query})
        return int(body.get("count", 0))

    # -- reading -------------------------------------------------------------------------------------------

    def _page(self, pit: str, slice_id: int, after: list[Any] | None) -> tuple[list[dict[str, Any]], list[Any] | None]:
        body: dict[str, Any] = {
            "size": self.batch_size, "query": self.query, "pit": {"id": pit, "keep_alive": self.keep_alive},
            # OpenSearch 2.x has no _shard_doc tiebreaker; _id is unique, so search_after on it is exact.
            "sort": [{"_id": "asc"}] if self.opensearch else [{"_shard_doc": "asc"}], "track_total_hits": False,
        }
        if self.slices > 1:
            body["slice"] = {"id": slice_id, "max": self.slices}
        if after is not None:
            body["search_after"] = after
        _, resp = self.client.request("POST", "/_search", body=body)
        shards = resp.get("_shards") or {}
        if resp.get("timed_out") or shards.get("failed"):
            # Partial pages would silently skip documents: fail instead, the job can resume from its checkpoint.
            raise ElasticsearchError(
                f"reading [{self.index}] returned partial results ({shards.get('failed', 0)} of "
                f"{shards.get('total', '?')} shards failed, timed_out={bool(resp.get('timed_out'))})",
                status=503, error_type="search_phase_execution_exception",
            )
        hits = (resp.get("hits") or {}).get("hits") or []
        return hits, (hits[-1].get("sort") if hits else None)

    def _reader(self, pit: str, slice_id: int, after: list[Any] | None, out: queue.Queue[Any],
                stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                hits, last = self._page(pit, slice_id, after)
                if not hits:
                    break
                after = last
                out.put((slice_id, hits, after))
            out.put((slice_id, _END, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            out.put((slice_id, exc, None))

    def _alive(self, pit: str) -> bool:
        try:
            self._page(pit, 0, None)
            return True
        except ElasticsearchError:
            return False

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Batches of hits; the position covers every slice."""
        afters: list[Any] = [None] * self.slices
        done = [False] * self.slices
        usable = bool(resume_from and resume_from.get("pit") and len(resume_from.get("after", [])) == self.slices)
        if usable and resume_from and self._alive(str(resume_from["pit"])):
            pit = str(resume_from["pit"])
            afters, done = list(resume_from["after"]), list(resume_from["done"])
        else:
            pit = self._open_pit()
            if usable and resume_from and self.opensearch:
                # _id sort values mean the same in any point in time: continue where we stopped
                afters, done = list(resume_from["after"]), list(resume_from["done"])
        self._sparse_paths()
        out: queue.Queue[Any] = queue.Queue(maxsize=2 * self.slices)
        stop = threading.Event()
        threads = [threading.Thread(target=self._reader, args=(pit, i, afters[i], out, stop), daemon=True,
                                    name=f"index-source-slice-{i}") for i in range(self.slices) if not done[i]]
        for t in threads:
            t.start()
        running = len(threads)
        try:
            while running:
                slice_id, hits, after = out.get()
                if hits is _END:
                    running -= 1
                    done[slice_id] = True
                    if not running:
                        # The final position (every slice done) rides on an empty batch.
                        empty = pa.record_batch({"_id": pa.array([], pa.string())})
                        yield SourceBatch(empty, self._position(pit, afters, done))
                    continue
                if isinstance(hits, BaseException):
                    raise hits
                before = self._position(pit, afters, done)
                afters[slice_id] = after
                yield from self._batches(hits, before, self._position(pit, afters, done))
        finally:
            stop.set()
            while any(t.is_alive() for t in threads):
                with contextlib.suppress(queue.Empty):
                    out.get(timeout=0.1)
            if all(done):
                self._close_pit(pit)

    def _batches(self, hits: list[dict[str, Any]], before: dict[str, Any], position: dict[str, Any]
                 ) -> Iterator[SourceBatch]:
        """One batch per run of agreeing field types; all but the last resume from before the page (a resumed
        read repeats those documents under their own ids, which overwrites them with the same content)."""
        docs = [{"_id": h.get("_id"), **(h.get("_source") or {})} for h in hits]
        raws = [json.dumps(d).encode() for d in docs]
        locs = [f"{self.index}/_doc/{h.get('_id')}" for h in hits]
        sparse = pop_sparse(docs, self._sparse_paths())
        runs, errors = to_batches(docs, raws, locs)
        bad = {e.location for e in errors}
        kept = [i for i, loc in enumerate(locs) if loc not in bad]  # rows of the runs, in order
        taken = 0
        for n, (batch, _end) in enumerate(runs):
            rows = kept[taken:taken + batch.num_rows]
            taken += batch.num_rows
            own = {p: [vals[i] for i in rows] for p, vals in sparse.items()}
            last = n == len(runs) - 1
            yield SourceBatch(attach_sparse(batch, own), position if last else before, errors if last else [])

    def _position(self, pit: str, afters: list[Any], done: list[bool]) -> dict[str, Any]:
        return {"index": self.index, "pit": pit, "after": list(afters), "done": list(done)}

    def close(self) -> None:
        """Release the client (points in time are closed when a read completes, else they expire)."""
        self.client.close()
