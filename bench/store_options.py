"""Candidate designs for one embedded store shared by many processes (issues 14 item 4, 15 item 3).

    python -m bench.store_options [--parts a,b,c,d] [--vectors N] [--b-sizes 100000,1000000]
                                  [--d-sizes 100000,2000000] [--e5 DIR] [--duckdb155 DIR] [--seconds S]

a. DuckDB owned by the server: Arrow IPC batches over a local HTTP socket vs a direct insert.
b. DuckDB with short write transactions behind a cross-process lock: open + write + close per batch by
   table size, and a writer and a reader process taking turns.
c. Other embedded engines: LanceDB concurrent writers + reader (one SIGKILLed), the same with writers
   serialised by a SQLite catalogue (the recommended design, ``bench/store_catalogue.py``), k-NN recall@10 / p50 / p99
   (LanceDB, USearch, DuckDB vss) incl. 10 % filtered, BM25 nDCG@10 on SciFact (tantivy, LanceDB FTS).
d. The ``_bulk`` growth: version lookup + write per batch at a small and a large table.

Defaults are small (a few minutes on 2 cores). Vectors: synthetic clustered unit vectors, or — with
``--e5 DIR`` holding ``scifact_docs.npy``/``scifact_queries.npy`` (made by ``embed DIR``) — vectors spread
around the real E5 SciFact document vectors, queried with the real E5 query vectors. DuckDB vss needs
duckdb 1.5.5: ``pip install --target DIR duckdb==1.5.5 duckdb-extension-vss==1.5.5`` and ``--duckdb155 DIR``.
Results go to stdout, one line each, prefixed by their part.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.data import log


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def embed(folder: Path) -> None:
    """Save E5 vectors of the SciFact documents and test queries to ``folder`` (the project's runtime)."""
    from bench.data import load_corpus, load_queries
    from bench.retrieval import embed_corpus
    from ingest.models.cache import ensure_built
    from ingest.models.catalogue import MULTILINGUAL_E5_SMALL
    from ingest.models.runtime import LocalModel

    folder.mkdir(parents=True, exist_ok=True)
    _, texts = load_corpus()
    _, qtexts, _ = load_queries()
    model = LocalModel(ensure_built(MULTILINGUAL_E5_SMALL, progress=log), threads=1)
    np.save(folder / "scifact_queries.npy", model.embed_arrays(qtexts, "search"))
    np.save(folder / "scifact_docs.npy", embed_corpus(model, texts))
    model.close()


def vectors(n: int, nq: int, e5: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(data, queries, description) for the k-NN measurements."""
    from bench.store_rows import clustered, load_e5

    real = load_e5(e5)
    if real is not None:
        docs, queries = real
        data = np.concatenate([docs, clustered(max(0, n - len(docs)), centres=docs, noise=0.5)])[:n]
        return data, queries[:nq], (f"{len(docs):,} real E5 SciFact vectors + {max(0, n - len(docs)):,} "
                                    f"synthetic around them; {min(nq, len(queries))} real E5 queries")
    clusters = max(100, (n + nq) // 10)  # ~10 per cluster: neighbours close, but not hundreds of near-ties
    data = clustered(n + nq, clusters=clusters)
    return data[:n], data[n:], (f"{n:,} synthetic clustered unit vectors ({clusters:,} clusters); "
                                f"{nq} held-out queries")


def run(args: argparse.Namespace) -> None:
    """Run the chosen parts, printing each result line as it comes."""
    from bench import store_catalogue, store_duckdb, store_lance, store_search

    parts = set(args.parts.split(","))
    work = Path(args.work or tempfile.mkdtemp(prefix="store-options-"))
    work.mkdir(parents=True, exist_ok=True)

    def emit(lines: list[str]) -> None:
        for line in lines:
            print(line, flush=True)

    try:
        if "a" in parts:
            log("a: direct vs local HTTP Arrow IPC")
            emit(store_duckdb.part_a(work, args.a_batches, args.batch))
        if "b" in parts:
            log("b: open + write + close behind a file lock")
            emit(store_duckdb.part_b(work, _ints(args.b_sizes), args.batch, args.reps))
            emit(store_duckdb.turn_taking(work, args.seconds, args.batch))
        if parts & {"c", "cw"}:
            log("c: concurrent writers and a reader")
            emit(store_lance.concurrent(work, 2, args.seconds, args.batch))
            emit(store_catalogue.concurrent(work, 2, args.seconds, args.batch))
        if parts & {"c", "ck"}:
            data, queries, what = vectors(args.vectors, args.queries, Path(args.e5) if args.e5 else None)
            cats = np.random.default_rng(3).integers(0, 10, len(data))
            emit([f"c  vectors: {what}; filter cat = 3 keeps {np.mean(cats == 3):.1%}"])
            log("c: k-NN")
            engines = set(args.engines.split(","))
            if "usearch" in engines:
                emit(store_search.usearch_knn(data, queries, cats))
            if "lance" in engines:
                emit(store_search.lance_knn(work, data, queries, cats))
            if "duckdb" in engines and args.duckdb155:
                emit(store_search.duckdb_knn(work, data, queries, cats, Path(args.duckdb155)))
            if "bm25" in engines:
                log("c: BM25")
                emit(store_search.bm25(work))
        if "ds" in parts:  # the SQLite catalogue alone (the quick one)
            emit(store_duckdb.growth_sqlite(work, _ints(args.d_sizes), args.batch, args.reps))
        if "d" in parts:
            sizes = _ints(args.d_sizes)
            log("d: _bulk growth")
            emit(store_duckdb.growth_duckdb(work, sizes, args.batch, args.reps, primary_key=True))
            emit(store_duckdb.growth_duckdb(work, sizes, args.batch, args.reps, primary_key=False))
            emit(store_duckdb.growth_sqlite(work, sizes, args.batch, args.reps))
            emit(store_lance.growth_lance(work, sizes, args.batch, args.reps))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line; helper sub-commands run the other side of a multi-process measurement."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("serve-arrow", "turn", "duck-hnsw", "lance-role", "catalogue-role", "embed"):
        _helper(argv)
        return
    parser = argparse.ArgumentParser(prog="python -m bench.store_options", description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="a,b,c,d", help="a,b,c,d; cw / ck = part c's writers / search only; ds = part d's SQLite only")
    parser.add_argument("--batch", type=int, default=1000, help="rows per write batch")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per timed step (median reported)")
    parser.add_argument("--a-batches", type=int, default=20)
    parser.add_argument("--b-sizes", default="100000", help="table sizes for part b, e.g. 100000,1000000")
    parser.add_argument("--d-sizes", default="100000,500000", help="table sizes for part d, e.g. 100000,2000000")
    parser.add_argument("--vectors", type=int, default=20_000, help="k-NN data set size (100000 for the issue)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", default="usearch,lance,duckdb,bm25", help="which of part c's search runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each concurrent run")
    parser.add_argument("--e5", help="folder with scifact_docs.npy / scifact_queries.npy (see `embed DIR`)")
    parser.add_argument("--duckdb155", help="folder holding duckdb 1.5.5 + duckdb-extension-vss (pip --target)")
    parser.add_argument("--work", help="keep the data in this folder (default: a temporary one, removed)")
    run(parser.parse_args(argv))


def _helper(argv: list[str]) -> None:
    from bench import store_catalogue, store_duckdb, store_lance, store_search

    name, rest = argv[0], argv[1:]
    if name == "serve-arrow":
        store_duckdb.serve_arrow(rest[0], int(rest[1]))
    elif name == "turn":
        store_duckdb.turn(rest[0], float(rest[1]), int(rest[2]), rest[3])
    elif name == "duck-hnsw":
        store_search.duck_hnsw(Path(rest[0]), Path(rest[1]))
    elif name == "catalogue-role":
        if rest[3] == "crash":
            store_catalogue.crash(Path(rest[0]))
        elif rest[3] == "reader":
            store_catalogue.reader(Path(rest[0]), float(rest[1]))
        else:
            store_catalogue.writer(Path(rest[0]), float(rest[1]), int(rest[2]), rest[3])
    elif name == "lance-role":
        store_lance.lance_role(rest[0], float(rest[1]), int(rest[2]), rest[3])
    else:
        embed(Path(rest[0]))


if __name__ == "__main__":
    main()
