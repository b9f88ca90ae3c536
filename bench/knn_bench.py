"""Approximate k-NN on the embedded store (issue 15): recall@10 of the HNSW side-cars against exact search,
``_search`` latency through a running ``ingest serve`` (the official client over HTTP), filtered k-NN at 10 %
selectivity, the graph's build seconds per 100k vectors and memory.

``SCIFACT_DIR=/work/shared/data/scifact python -m bench.knn_bench [--docs 100000] [--queries 200] [--home DIR
[--reuse]] [--no-e5]``

1. Synthetic clustered unit vectors (384 dims, ~10 per cluster, ``bench.store_rows.clustered``) with a ``cat``
   keyword of 10 values, written to a fresh home's store in Arrow batches.
2. Build, in this process: the first search starts the background build; its seconds and the RSS it adds
   (beside the RSS of the search corpus itself) are measured, and the side-car is saved.
3. ``ingest serve`` on that home in a subprocess (``INGEST_KNN_EXACT_BELOW=1000``, so the small real set below
   goes through the graph too; at 100k the plans are the same as with the default 10000): per query, the
   approximate and the ``"exact": true`` search interleaved; then with ``filter: {term: {cat: "3"}}`` (10 %).
4. Real vectors: the 5,183 E5 SciFact documents (the vectors ``bench.retrieval`` caches; embedded if missing)
   and the 300 SciFact test queries embedded by E5, through ``_bulk`` and ``_search`` on the same server.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.data import log
from bench.store_rows import clustered, ms, pct

DIMS, K, CANDIDATES = 384, 10, 100
_BLOCK = 20


def _rss(pid: int | None = None) -> int:
    """Resident bytes of a process (this one by default)."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _fill(home: Path, data: np.ndarray, cats: np.ndarray) -> float:
    from ingest.sinks.base import FieldHint
    from ingest.sinks.embedded.store import EmbeddedStore

    store = EmbeddedStore(home / "indices.duckdb")
    start = time.perf_counter()
    store.ensure_index("knn", {"vec": FieldHint("dense", DIMS, "cosine")})
    for at in range(0, len(data), 5000):
        part = data[at:at + 5000]
        table = pa.table({"vec": pa.FixedSizeListArray.from_arrays(pa.array(part.reshape(-1)), DIMS),
                          "cat": pa.array([str(c) for c in cats[at:at + 5000]])})
        results = store.write_batch("knn", table, [str(i) for i in range(at, at + len(part))])
        assert all(r.status in (200, 201) for r in results), results[:3]
    store.close()
    return time.perf_counter() - start


def _build(home: Path) -> dict[str, float]:
    """The graph built in this process, as the first search after the writes starts it."""
    from ingest.query.source import SourceFilter
    from ingest.searching.service import SearchService
    from ingest.sinks.embedded.store import EmbeddedStore

    store = EmbeddedStore(home / "indices.duckdb")
    service = SearchService(1000)
    before = _rss()
    start = time.perf_counter()
    corpus = service.corpus(store, "knn")
    corpus_s = time.perf_counter() - start
    with_corpus = _rss()
    body = {"knn": {"field": "vec", "query_vector": [1.0] + [0.0] * (DIMS - 1), "k": K}, "_source": False}
    service.search(body, [corpus], {"knn": store.properties("knn")}, SourceFilter())
    start = time.perf_counter()
    service.vectors.wait()
    build_s = time.perf_counter() - start
    car = service.vectors.cars()[0]
    out = {"corpus_s": corpus_s, "corpus_mb": (with_corpus - before) / 1e6, "build_s": build_s,
           "graph_mb": (_rss() - with_corpus) / 1e6, "file_mb": car.file.stat().st_size / 1e6,
           "vectors": float(len(car.labels))}
    store.close()
    return out


def _serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INGEST_HOME": str(home), "INGEST_KNN_EXACT_BELOW": "1000",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("ingest serve did not start")


def _ids(answer: Any) -> list[str]:
    return [h["_id"] for h in answer["hits"]["hits"]]


def _compare(es: Any, index: str, queries: np.ndarray, extra: dict[str, Any] | None = None,
             source: Any = True) -> dict[str, Any]:
    """Per query: the approximate search then the exact one (interleaved); recall@10 and latencies."""
    recalls, fast, slow, floor = [], [], [], []
    for at in range(0, len(queries), _BLOCK):
        # blocks of approximate then exact searches: interleaved against load drift, while an exact scan (the
        # whole matrix through the caches) does not precede every approximate search as it would one by one
        block = [{"field": "vec", "query_vector": q.tolist(), "k": K, "num_candidates": CANDIDATES, **(extra or {})}
                 for q in queries[at:at + _BLOCK]]
        found = []
        for knn in block:
            start = time.perf_counter()
            es.info()  # the HTTP round trip's own cost on this machine now (GET /)
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            found.append(_ids(es.search(index=index, knn=knn, size=K, source=source)))
            fast.append(time.perf_counter() - start)
        for knn, approx in zip(block, found, strict=True):
            start = time.perf_counter()
            exact = es.search(index=index, knn={**knn, "exact": True}, size=K, source=source)
            slow.append(time.perf_counter() - start)
            truth = set(_ids(exact))
            recalls.append(len(truth & set(approx)) / max(1, len(truth)))
    return {"recall": float(np.mean(recalls)), "p50": pct(fast, 0.5), "p99": pct(fast, 0.99),
            "exact_p50": pct(slow, 0.5), "exact_p99": pct(slow, 0.99), "n": len(queries),
            "floor": pct(floor, 0.5)}


def _wait_side_car(es: Any, home: Path, index: str, query: np.ndarray) -> float:
    """Seconds until the server's background build of ``index`` has written its side-car."""
    start = time.perf_counter()
    es.search(index=index, knn={"field": "vec", "query_vector": query.tolist(), "k": K}, size=1)
    while not (home / "vectors" / index / "vec.usearch").exists():
        time.sleep(0.5)
    return time.perf_counter() - start


def _e5() -> tuple[list[str], np.ndarray, np.ndarray]:
    from bench.data import load_corpus, load_queries
    from bench.retrieval import embed_corpus
    from ingest.models.cache import ensure_built
    from ingest.models.catalogue import MULTILINGUAL_E5_SMALL
    from ingest.models.runtime import LocalModel

    ids, texts = load_corpus()
    _, qtexts, _ = load_queries()
    model = LocalModel(ensure_built(MULTILINGUAL_E5_SMALL, progress=log), threads=1)
    try:
        docs = embed_corpus(model, texts)  # cached under $INGEST_HOME/bench by model version
        queries = model.embed_arrays(qtexts, "search")
    finally:
        model.close()
    return ids, np.asarray(docs, dtype=np.float32), np.asarray(queries, dtype=np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--home", type=Path, default=None, help="a folder to keep (default: a temporary one)")
    parser.add_argument("--no-e5", action="store_true", help="skip the real E5 SciFact check")
    parser.add_argument("--reuse", action="store_true", help="--home already holds the store and its side-car")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        run(home, args.docs, args.queries, not args.no_e5, args.reuse)


def run(home: Path, n: int, nq: int, e5: bool, reuse: bool = False) -> None:
    """The whole benchmark on ``home``; prints a Markdown table."""
    from elasticsearch import Elasticsearch, helpers

    log(f"load average {os.getloadavg()}")
    data = clustered(n + nq, clusters=max(100, (n + nq) // 10))
    data, queries = data[:n], data[n:]
    cats = np.arange(n) % 10
    if reuse and (home / "vectors" / "knn" / "vec.usearch").exists():
        built = {k: float("nan") for k in ("corpus_s", "corpus_mb", "build_s", "graph_mb", "file_mb")}
        built["vectors"] = float(n)
        log("reusing the store and side-car of --home (no build figures)")
    else:
        log(f"fill: {_fill(home, data, cats):.1f}s for {n:,} documents")
        built = _build(home)
        log(f"build: {built}")
    real = _e5() if e5 else None
    proc, url = _serve(home)
    rows: list[str] = []
    try:
        es = Elasticsearch(url, request_timeout=3600)
        start = time.perf_counter()
        es.search(index="knn", knn={"field": "vec", "query_vector": queries[0].tolist(), "k": K}, size=1)
        rss_before = _rss(proc.pid)
        log(f"server warm-up (corpus read, side-car loaded and checked): {time.perf_counter() - start:.1f}s, "
            f"server RSS {rss_before / 1e6:.0f} MB")
        plain = _compare(es, "knn", queries)
        # Elasticsearch 9.2 leaves vectors out of _source by default: 10 × 384 floats less to encode and decode
        lean = _compare(es, "knn", queries, source={"excludes": ["vec"]})
        # the term filter itself is evaluated over every document in Python (~1 s at 100k under load): fewer queries
        filtered = _compare(es, "knn", queries[:50], {"filter": {"term": {"cat": "3"}}})
        rows.append(_row(f"synthetic clustered {n:,}×{DIMS}", plain))
        rows.append(_row(f"synthetic {n:,}, `_source` without the vector", lean))
        rows.append(_row(f"synthetic {n:,}, filter 10 % (`term`)", filtered))
        if real is not None:
            ids, docs, qvecs = real
            es.options(ignore_status=404).indices.delete(index="scifact")  # a --reuse'd home's earlier run
            es.indices.create(index="scifact", mappings={"properties": {
                "vec": {"type": "dense_vector", "dims": DIMS, "similarity": "cosine"}}})
            helpers.bulk(es, ({"_index": "scifact", "_id": i, "vec": v.tolist()} for i, v in zip(ids, docs, strict=True)),
                         chunk_size=500, refresh=True, request_timeout=3600)
            log(f"scifact side-car built by the server in {_wait_side_car(es, home, 'scifact', qvecs[0]):.1f}s")
            rows.append(_row(f"real E5 SciFact {len(ids):,}×{DIMS}, {len(qvecs)} real queries",
                             _compare(es, "scifact", qvecs)))
    finally:
        proc.terminate()
        proc.wait(30)
    per_100k = built["build_s"] * 100_000 / max(1.0, built["vectors"])
    print(f"load average at the end: {os.getloadavg()}")
    print("| set | queries | recall@10 | p50 | p99 | exact p50 | exact p99 | `GET /` p50 |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nbuild: {built['build_s']:.0f} s for {int(built['vectors']):,} vectors ({per_100k:.0f} s per 100k, "
          f"2 threads, M=16, ef_construction=128); graph RSS +{built['graph_mb']:.0f} MB, side-car file "
          f"{built['file_mb']:.0f} MB; the search corpus itself: {built['corpus_s']:.1f} s to read, "
          f"RSS +{built['corpus_mb']:.0f} MB")


def _row(name: str, r: dict[str, Any]) -> str:
    log(f"{name}: {r}")
    return (f"| {name} | {r['n']} | {r['recall']:.3f} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['exact_p50'])} | "
            f"{ms(r['exact_p99'])} | {ms(r['floor'])} |")


if __name__ == "__main__":
    main()
