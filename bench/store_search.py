"""Vector and full-text indexes for the shared store (part c of ``bench.store_options``).

k-NN: LanceDB (IVF_HNSW_SQ), USearch (HNSW, one index per segment in the segment design) and DuckDB's vss
HNSW (run in a subprocess against duckdb 1.5.5, the last version its extension exists for), each against
exact search; filtered k-NN at 10 % selectivity. BM25 on SciFact: tantivy and LanceDB's native FTS.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.store_rows import exact_top, med, ms, pct, recall, timed, vector_column

K = 10


def _knn_line(name: str, found: list[list[int]], lat: list[float], truth: np.ndarray) -> str:
    return (f"c  {name:<44} recall@10 {recall(found, truth):.3f}  p50 {ms(pct(lat, 0.5))}  "
            f"p99 {ms(pct(lat, 0.99))}")


def _cosine(tbl: object, q: np.ndarray) -> Any:
    """A LanceDB vector query by cosine distance (the builder's type is a union mypy cannot narrow)."""
    return tbl.search(q).distance_type("cosine")  # type: ignore[attr-defined]


def lance_knn(work: Path, data: np.ndarray, queries: np.ndarray, cats: np.ndarray) -> list[str]:
    """LanceDB IVF_HNSW_SQ: build time, recall/latency by nprobes and ef, prefiltered recall at 10 %."""
    import lancedb

    db = lancedb.connect(str(work / "lance_knn"))
    tbl = db.create_table("v", pa.table({"row": np.arange(len(data)), "cat": cats, "vector": vector_column(data)}),
                          mode="overwrite")
    parts = max(1, len(data) // 4096)
    build = timed(lambda: tbl.create_index(metric="cosine", index_type="IVF_HNSW_SQ", num_partitions=parts))
    truth = exact_top(data, queries, K)
    lines = [f"c  LanceDB IVF_HNSW_SQ build: {build:.1f}s for {len(data):,} vectors ({parts} partitions)"]
    for nprobes, ef in ((4, 64), (8, 100), (16, 200)):
        found, lat = [], []
        for q in queries:
            start = time.perf_counter()
            res = _cosine(tbl, q).nprobes(nprobes).ef(ef).limit(K).select(["row"]).to_arrow()
            lat.append(time.perf_counter() - start)
            found.append(res.column("row").to_pylist())
        lines.append(_knn_line(f"LanceDB nprobes={nprobes} ef={ef}", found, lat, truth))
    mask = cats == 3
    ftruth = exact_top(data, queries, K, mask)
    for nprobes, ef in ((8, 100), (16, 200)):
        found, lat = [], []
        for q in queries:
            start = time.perf_counter()
            res = (_cosine(tbl, q).where("cat = 3", prefilter=True).nprobes(nprobes).ef(ef)
                   .limit(K).select(["row"]).to_arrow())
            lat.append(time.perf_counter() - start)
            found.append(res.column("row").to_pylist())
        lines.append(_knn_line(f"LanceDB prefilter 10% nprobes={nprobes} ef={ef}", found, lat, ftruth))
    found, lat = [], []
    for q in queries:  # what a selective filter should do: exact distances over the matching rows only
        start = time.perf_counter()
        res = (_cosine(tbl, q).where("cat = 3", prefilter=True).bypass_vector_index().limit(K)
               .select(["row"]).to_arrow())
        lat.append(time.perf_counter() - start)
        found.append(res.column("row").to_pylist())
    lines.append(_knn_line("LanceDB prefilter 10% exact (no index)", found, lat, ftruth))
    return lines


def usearch_knn(data: np.ndarray, queries: np.ndarray, cats: np.ndarray) -> list[str]:
    """USearch HNSW (f32, M=16): build, recall/latency by expansion_search; filtered = exact over the subset."""
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="cos", dtype="f32", connectivity=16, expansion_add=128)
    build = timed(lambda: index.add(np.arange(len(data)), data, threads=2))
    truth = exact_top(data, queries, K)
    lines = [f"c  USearch HNSW build: {build:.1f}s for {len(data):,} vectors (2 threads), "
             f"{index.memory_usage / 1e6:.0f} MB"]
    for ef in (64, 128, 256):
        index.expansion_search = ef  # type: ignore[misc]  # settable at run time, typed read-only
        found, lat = [], []
        for q in queries:
            start = time.perf_counter()
            res = index.search(q, K)
            lat.append(time.perf_counter() - start)
            found.append([int(k) for k in res.keys])
        lines.append(_knn_line(f"USearch ef_search={ef}", found, lat, truth))
    mask = cats == 3
    rows = np.flatnonzero(mask)
    subset = data[rows]
    ftruth = exact_top(data, queries, K, mask)
    found, lat = [], []
    for q in queries:
        start = time.perf_counter()
        scores = subset @ q
        top = np.argpartition(-scores, K)[:K]
        found.append(rows[top[np.argsort(-scores[top])]].tolist())
        lat.append(time.perf_counter() - start)
    lines.append(_knn_line("filter 10% then exact scan of the subset", found, lat, ftruth))
    path = Path(str(data.shape[0]) + ".usearch")
    return lines + _usearch_reload(index, path)


def _usearch_reload(index: object, path: Path) -> list[str]:
    import tempfile

    from usearch.index import Index

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / path.name
        save = timed(lambda: index.save(str(file)))  # type: ignore[attr-defined]
        load = timed(lambda: Index.restore(str(file)))
        view = timed(lambda: Index.restore(str(file), view=True))
        size = file.stat().st_size / 1e6
    return [f"c  USearch save {save:.2f}s, {size:.0f} MB file; load {ms(load)}, memory-mapped view {ms(view)}"]


def duckdb_knn(work: Path, data: np.ndarray, queries: np.ndarray, cats: np.ndarray, duck155: Path) -> list[str]:
    """DuckDB vss HNSW in a subprocess on duckdb 1.5.5 (``--duckdb155`` folder from ``pip install --target``)."""
    np.save(work / "knn_data.npy", data)
    np.save(work / "knn_queries.npy", queries)
    np.save(work / "knn_cats.npy", cats)
    env = {"PYTHONPATH": f"{duck155}:{Path(__file__).resolve().parents[1]}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bench.store_options", "duck-hnsw", str(work), str(duck155)],
                         capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode:
        return [f"c  DuckDB vss failed: {out.stderr.strip()[-500:]}"]
    return out.stdout.strip().splitlines()


def duck_hnsw(work: Path, duck155: Path) -> None:
    """Subprocess side of ``duckdb_knn``: build, reopen (index reload), k-NN by ef_search, a write after."""
    import duckdb

    data, queries = np.load(work / "knn_data.npy"), np.load(work / "knn_queries.npy")
    cats = np.load(work / "knn_cats.npy")
    ext = duck155 / "duckdb_extension_vss" / "extensions" / f"v{duckdb.__version__}" / "vss.duckdb_extension"
    db = str(work / "hnsw.duckdb")
    setup = f"LOAD '{ext}'; SET hnsw_enable_experimental_persistence = true;"
    dims = data.shape[1]
    con = duckdb.connect(db)
    con.execute(setup)
    con.register("src", pa.table({"row": np.arange(len(data)), "cat": cats, "v": vector_column(data)}))
    con.execute(f"CREATE TABLE t AS SELECT row, cat, v::FLOAT[{dims}] AS v FROM src")
    build = timed(lambda: con.execute("CREATE INDEX h ON t USING HNSW (v) WITH (metric = 'cosine')"))
    con.close()
    print(f"c  DuckDB {duckdb.__version__} vss HNSW build: {build:.1f}s for {len(data):,} vectors")
    start = time.perf_counter()
    con = duckdb.connect(db)
    con.execute(setup)
    sql = f"SELECT row FROM t ORDER BY array_cosine_distance(v, ?::FLOAT[{dims}]) LIMIT {K}"
    con.execute(sql, [queries[0].tolist()]).fetchall()
    print(f"c  DuckDB reopen + LOAD + first k-NN (index deserialised): {ms(time.perf_counter() - start)}")
    truth = exact_top(data, queries, K)
    for ef in (64, 200, 400):
        con.execute(f"SET hnsw_ef_search = {ef}")
        found, lat = [], []
        for q in queries:
            t = time.perf_counter()
            found.append([r[0] for r in con.execute(sql, [q.tolist()]).fetchall()])
            lat.append(time.perf_counter() - t)
        print(_knn_line(f"DuckDB vss ef_search={ef}", found, lat, truth))
    fsql = sql.replace("ORDER BY", "WHERE cat = 3 ORDER BY")
    found, lat = [], []
    for q in queries:
        t = time.perf_counter()
        found.append([r[0] for r in con.execute(fsql, [q.tolist()]).fetchall()])
        lat.append(time.perf_counter() - t)
    print(_knn_line("DuckDB vss WHERE cat=3 (ef 400)", found, lat, exact_top(data, queries, K, cats == 3)))
    rng = np.random.default_rng(1)
    extra = rng.standard_normal((1000, dims)).astype(np.float32)
    con.register("x", pa.table({"row": np.arange(1000) + len(data), "cat": np.zeros(1000, np.int64),
                                "v": vector_column(extra)}))
    ins = timed(lambda: con.execute(f"INSERT INTO t SELECT row, cat, v::FLOAT[{dims}] FROM x"))
    close = timed(con.close)
    print(f"c  DuckDB insert 1,000 rows into the HNSW-indexed table {ms(ins)}, close (index written) {ms(close)}")


def bm25(work: Path) -> list[str]:
    """SciFact nDCG@10 with tantivy and with LanceDB's native FTS (published BM25: 0.665)."""
    import lancedb
    import tantivy

    from bench.data import load_corpus, load_queries
    from bench.retrieval import ndcg_at_k

    ids, texts = load_corpus()
    qids, qtexts, qrels = load_queries()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    schema = builder.build()
    folder = work / "tantivy"
    folder.mkdir(exist_ok=True)
    index = tantivy.Index(schema, path=str(folder))

    def build_tantivy() -> None:
        writer = index.writer(heap_size=64_000_000, num_threads=1)
        for doc_id, text in zip(ids, texts, strict=True):
            writer.add_document(tantivy.Document(id=doc_id, body=text))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()

    build = timed(build_tantivy)
    searcher = index.searcher()
    scores, lat = [], []
    for qid, text in zip(qids, qtexts, strict=True):
        t = time.perf_counter()
        query = index.parse_query(_escape(text), ["body"])
        hits = searcher.search(query, K).hits
        lat.append(time.perf_counter() - t)
        scores.append(ndcg_at_k([searcher.doc(addr)["id"][0] for _, addr in hits], qrels[qid]))
    lines = [f"c  tantivy BM25 (en_stem) SciFact nDCG@10 {np.mean(scores):.3f} (published 0.665); "
             f"build {build:.1f}s; p50 {ms(pct(lat, 0.5))}"]
    db = lancedb.connect(str(work / "lance_fts"))
    tbl = db.create_table("d", pa.table({"id": ids, "body": texts}), mode="overwrite")
    build = timed(lambda: tbl.create_fts_index("body", use_tantivy=False, stem=True, remove_stop_words=True,
                                               language="English"))
    scores, lat = [], []
    for qid, text in zip(qids, qtexts, strict=True):
        t = time.perf_counter()
        res = tbl.search(text, query_type="fts").limit(K).select(["id"]).to_arrow()
        lat.append(time.perf_counter() - t)
        scores.append(ndcg_at_k(res.column("id").to_pylist(), qrels[qid]))
    lines.append(f"c  LanceDB native FTS (stem, stop words) SciFact nDCG@10 {np.mean(scores):.3f}; build {build:.1f}s; "
                 f"p50 {ms(pct(lat, 0.5))}")
    return lines


def _escape(text: str) -> str:
    """Plain words for tantivy's query parser (its syntax characters removed)."""
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text)


__all__ = ["bm25", "duck_hnsw", "duckdb_knn", "lance_knn", "med", "usearch_knn"]
