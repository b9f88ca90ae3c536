"""The local sinks side by side: the same bulk requests (new ids, then replacing them all, then partial
updates) into the embedded store, files (JSONL) and LanceDB; rounds alternate the order of the sinks; medians
and each sink's ratio to the embedded store; plus k-NN latency on the two that search.

``python -m bench.sink_bench [--docs 20000] [--dims 384] [--bulk 1000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint
from ingest.sinks.registry import capabilities, kind_of, searching

DESTS = {"embedded": "embedded://{d}/db.duckdb", "files": "file://{d}/out", "lancedb": "lancedb://{d}/lance"}


def _docs(n: int, dims: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [{"title": f"Title {i}", "body": "x" * 200, "n": i, "tags": ["a", "b"], "emb": vectors[i].tolist()}
            for i in range(n)]


def _round(kind: str, docs: list[dict[str, object]], dims: int, bulk: int) -> tuple[dict[str, float], float]:
    """Seconds per phase, and the median k-NN latency (0 for a sink that cannot search)."""
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, open_sink(dest := DESTS[kind].format(d=folder)) as sink:
        sink.ensure_index("b", {"emb": FieldHint("dense", dims, "cosine")})
        phases = {"index": lambda i, d: BulkAction("index", "b", str(i), d),
                  "replace": lambda i, d: BulkAction("index", "b", str(i), {**d, "n": -1}),
                  "update": lambda i, d: BulkAction("update", "b", str(i), {"doc": {"seen": True}})}
        for phase, make in phases.items():
            start = time.perf_counter()
            for lo in range(0, len(docs), bulk):
                results = sink.write([make(lo + k, d) for k, d in enumerate(docs[lo:lo + bulk])])
                assert all(r.error is None for r in results)
            sink.end_load("b")
            times[phase] = time.perf_counter() - start
        knn = 0.0
        if capabilities(dest).search:
            lat = []
            for q in range(20):
                query = list(docs[(q * 7) % len(docs)]["emb"])  # type: ignore[call-overload]
                start = time.perf_counter()
                searching(sink, kind_of(dest)).search("b", "emb", query, 10)
                lat.append(time.perf_counter() - start)
            knn = statistics.median(lat)
    return times, knn


def main(argv: list[str] | None = None) -> None:
    """Print docs/s per sink and phase (medians), the ratio to the embedded store, and k-NN latency."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    docs = _docs(args.docs, args.dims)
    kinds = list(DESTS)
    for kind in kinds:  # warm-up: imports, first files
        _round(kind, docs[: args.bulk], args.dims, args.bulk)
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    knn: dict[str, list[float]] = {k: [] for k in kinds}
    for rep in range(args.reps):
        order = kinds[rep % len(kinds):] + kinds[: rep % len(kinds)]
        for kind in order:
            times, latency = _round(kind, docs, args.dims, args.bulk)
            runs[kind].append(times)
            knn[kind].append(latency)
    base = {p: statistics.median(t[p] for t in runs["embedded"]) for p in runs["embedded"][0]}
    print(f"{args.docs} docs ({args.dims}-d vectors), bulks of {args.bulk}, median of {args.reps} rounds")
    for kind in kinds:
        cells = []
        for phase in base:
            took = statistics.median(t[phase] for t in runs[kind])
            cells.append(f"{phase} {args.docs / took:,.0f} docs/s ({base[phase] / took:.2f}x)")
        lat = statistics.median(knn[kind])
        print(f"{kind:9} " + "; ".join(cells) + (f"; k-NN p50 {lat * 1e3:.1f} ms" if lat else ""))


if __name__ == "__main__":
    main()
