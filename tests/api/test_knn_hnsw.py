"""Approximate k-NN (HNSW side-cars) on the embedded store through the official client: recall against exact
search on a small seeded set, the exact plans (few vectors, ``"exact": true``, selective filters), filtered
k-NN, Elasticsearch's scores per similarity, side-cars deleted with their index and rebuilt when damaged."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch, helpers

from ingest.context import AppContext
from ingest.models.settings import Settings
from ingest.server.app import create_app
from tests.servers import serve

DIMS, N = 16, 600
EXACT_BELOW = 50


def _data(n: int = N, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 10), DIMS))
    data = centres[rng.integers(0, len(centres), n)] + 0.4 * rng.standard_normal((n, DIMS))
    return np.asarray(data / np.linalg.norm(data, axis=1, keepdims=True), dtype=np.float32)


@dataclasses.dataclass
class Node:
    es: Elasticsearch
    context: AppContext
    home: Path

    def side_car(self, index: str, field: str = "vec") -> Path:
        return self.home / "vectors" / index / f"{field}.usearch"

    def built(self, index: str, query: np.ndarray, field: str = "vec") -> None:
        """Search once (which starts the build) and wait for the graph."""
        self.es.search(index=index, knn={"field": field, "query_vector": query.tolist(), "k": 1})
        self.context.search().vectors.wait()
        assert self.side_car(index, field).exists()


def _start(home: Path) -> Iterator[Node]:
    context = AppContext(dataclasses.replace(Settings.from_env(), home=home, knn_exact_below=EXACT_BELOW))
    try:
        with serve(create_app(context=context)) as url:
            es = Elasticsearch(url, request_timeout=60)
            yield Node(es, context, home)
            es.close()
    finally:
        context.close()


@pytest.fixture()
def node(ingest_home: Path) -> Iterator[Node]:
    yield from _start(ingest_home)


def _index(es: Elasticsearch, name: str, data: np.ndarray, similarity: str = "cosine") -> None:
    es.indices.create(index=name, mappings={"properties": {
        "vec": {"type": "dense_vector", "dims": DIMS, "similarity": similarity}, "cat": {"type": "keyword"}}})
    helpers.bulk(es, ({"_index": name, "_id": str(i), "vec": v.tolist(), "cat": str(i % 10)}
                      for i, v in enumerate(data)), refresh=True)


def _ids(answer: Any) -> list[str]:
    return [h["_id"] for h in answer["hits"]["hits"]]


def _truth(data: np.ndarray, q: np.ndarray, k: int = 10, mask: np.ndarray | None = None) -> list[str]:
    scores = data @ q
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return [str(i) for i in np.argsort(-scores, kind="stable")[:k]]


def test_recall_on_a_seeded_set_and_cosine_scores(node: Node) -> None:
    data = _data()
    queries = _data(40, seed=11)
    _index(node.es, "v", data)
    node.built("v", queries[0])
    mode = stat.S_IMODE(node.side_car("v").stat().st_mode)
    assert mode == 0o600, oct(mode)
    recalls = []
    for q in queries:
        answer = node.es.search(index="v", knn={"field": "vec", "query_vector": q.tolist(), "k": 10,
                                                "num_candidates": 20})
        recalls.append(len(set(_ids(answer)) & set(_truth(data, q))) / 10)
        top = answer["hits"]["hits"][0]
        assert top["_score"] == pytest.approx((1 + float(data[int(top["_id"])] @ q)) / 2, abs=1e-5)
    assert np.mean(recalls) >= 0.95
    car = node.context.search().vectors.cars()[0]
    assert len(car.labels) == N  # every vector in the graph


def test_the_graph_proposes_fewer_rows_than_the_index(node: Node) -> None:
    """Not exact search in disguise: the graph's candidates are a small part of the rows."""
    data = _data()
    _index(node.es, "v", data)
    node.built("v", data[0])
    service = node.context.search()
    corpus = next(iter(service._corpora.values()))  # the corpus the server searched
    rows = corpus.ann.candidates(corpus, "vec", "cosine", data[5], 10, 20, None)
    assert rows is not None and 10 <= len(rows) < N // 4
    assert corpus.ids.index("5") in set(rows.tolist())  # a stored vector finds itself


def test_exact_plans_build_nothing(node: Node) -> None:
    small = _data(EXACT_BELOW - 10)
    _index(node.es, "small", small)
    answer = node.es.search(index="small", knn={"field": "vec", "query_vector": small[3].tolist(), "k": 5})
    assert _ids(answer) == _truth(small, small[3], 5)
    node.context.search().vectors.wait()
    assert not node.side_car("small").exists()  # fewer vectors than INGEST_KNN_EXACT_BELOW: exact, no graph

    data = _data()
    _index(node.es, "big", data)
    answer = node.es.search(index="big", knn={"field": "vec", "query_vector": data[7].tolist(), "k": 10,
                                              "exact": True})
    assert _ids(answer) == _truth(data, data[7])
    node.context.search().vectors.wait()
    assert not node.side_car("big").exists()  # "exact": true never asks the graph
    with pytest.raises(Exception) as err:
        node.es.search(index="big", knn={"field": "vec", "query_vector": data[7].tolist(), "k": 1, "exact": "yes"})
    assert getattr(err.value, "status_code", None) == 400


def test_filtered_knn_prefilters(node: Node) -> None:
    data = _data()
    queries = _data(30, seed=12)
    _index(node.es, "v", data)
    node.built("v", queries[0])
    cats = np.arange(N) % 10
    recalls = []
    for q in queries:  # 10 % selectivity: an exact scan of the 60 matches
        answer = node.es.search(index="v", knn={"field": "vec", "query_vector": q.tolist(), "k": 10,
                                                "num_candidates": 10, "filter": {"term": {"cat": "3"}}})
        assert len(answer["hits"]["hits"]) == 10
        assert all(h["_source"]["cat"] == "3" for h in answer["hits"]["hits"])
        recalls.append(len(set(_ids(answer)) & set(_truth(data, q, mask=cats == 3))) / 10)
    assert np.mean(recalls) >= 0.95
    wide = []
    for q in queries:  # 90 %: the graph's answers, oversampled, then filtered
        answer = node.es.search(index="v", knn={"field": "vec", "query_vector": q.tolist(), "k": 10,
                                                "filter": {"bool": {"must_not": {"term": {"cat": "3"}}}}})
        assert all(h["_source"]["cat"] != "3" for h in answer["hits"]["hits"])
        wide.append(len(set(_ids(answer)) & set(_truth(data, q, mask=cats != 3))) / 10)
    assert np.mean(wide) >= 0.95
    service = node.context.search()
    corpus = next(iter(service._corpora.values()))
    mask = cats[[int(i) for i in corpus.ids]] != 3
    rows = corpus.ann.candidates(corpus, "vec", "cosine", queries[0], 10, 15, mask)
    assert rows is not None and len(rows) < N // 2 and mask[rows].all()  # the graph's path, not a scan
    assert corpus.ann.candidates(corpus, "vec", "cosine", queries[0], 10, 15, ~mask) is None  # 10 %: exact
    selective = node.es.search(index="v", knn={"field": "vec", "query_vector": queries[0].tolist(), "k": 10,
                                               "filter": {"terms": {"_id": ["1", "2", "3"]}}})
    assert sorted(_ids(selective)) == ["1", "2", "3"]  # fewer matches than k: all of them, exactly


@pytest.mark.parametrize("similarity", ["l2_norm", "max_inner_product", "dot_product"])
def test_elasticsearch_scores_per_similarity(node: Node, similarity: str) -> None:
    data = _data() * (1.0 if similarity == "dot_product" else 2.0)  # unit vectors for dot_product
    _index(node.es, "s", data, similarity)
    q = _data(1, seed=21)[0]
    node.built("s", q)
    answer = node.es.search(index="s", knn={"field": "vec", "query_vector": q.tolist(), "k": 10, "num_candidates": 50})
    if similarity == "l2_norm":
        raw = np.linalg.norm(data - q, axis=1)
        want = 1 / (1 + raw**2)
    else:
        dot = data @ q
        want = np.where(dot < 0, 1 / (1 - dot), dot + 1) if similarity == "max_inner_product" else (1 + dot) / 2
    best = [str(i) for i in np.argsort(-want, kind="stable")[:10]]
    assert len(set(_ids(answer)) & set(best)) >= 9
    for hit in answer["hits"]["hits"]:
        assert hit["_score"] == pytest.approx(float(want[int(hit["_id"])]), rel=1e-5)


def test_writes_after_the_build_are_searched_at_once(node: Node) -> None:
    data = _data()
    _index(node.es, "v", data)
    node.built("v", data[0])
    target = _data(1, seed=99)[0]
    node.es.index(index="v", id="new", document={"vec": target.tolist(), "cat": "x"}, refresh=True)
    node.es.index(index="v", id="0", document={"vec": (-data[0]).tolist(), "cat": "x"}, refresh=True)
    node.es.delete(index="v", id="1", refresh=True)
    answer = node.es.search(index="v", knn={"field": "vec", "query_vector": target.tolist(), "k": 1})
    assert _ids(answer) == ["new"]  # not in the graph yet: scored exactly beside it
    moved = node.es.search(index="v", knn={"field": "vec", "query_vector": data[0].tolist(), "k": 10})
    assert "0" not in _ids(moved)  # its old vector's label is stale
    gone = node.es.search(index="v", knn={"field": "vec", "query_vector": data[1].tolist(), "k": 10})
    assert "1" not in _ids(gone)
    node.context.search().vectors.wait()
    car = node.context.search().vectors.cars()[0]
    assert len(car.labels) == N  # 600 + new - deleted; the updated one relabelled


def test_side_cars_deleted_with_the_index(node: Node) -> None:
    data = _data()
    _index(node.es, "v", data)
    node.built("v", data[0])
    node.es.indices.delete(index="v")
    assert not (node.home / "vectors" / "v").exists()
    other = _data(seed=5)  # the same name again, other vectors: never the old graph's answers
    _index(node.es, "v", other)
    answer = node.es.search(index="v", knn={"field": "vec", "query_vector": other[9].tolist(), "k": 10})
    assert _ids(answer) == _truth(other, other[9])
    node.context.search().vectors.wait()
    assert node.side_car("v").exists()


def test_cli_indices_delete_removes_side_cars(ingest_home: Path) -> None:
    from ingest.query.source import SourceFilter
    from ingest.searching.service import SearchService
    from ingest.sinks.base import BulkAction, FieldHint
    from ingest.sinks.embedded.store import EmbeddedStore

    data = _data()
    store = EmbeddedStore(ingest_home / "indices.duckdb")
    store.ensure_index("v", {"vec": FieldHint("dense", DIMS, "cosine")})
    store.write([BulkAction("index", "v", str(i), {"vec": v.tolist()}) for i, v in enumerate(data)])
    service = SearchService(EXACT_BELOW)
    body = {"knn": {"field": "vec", "query_vector": data[0].tolist(), "k": 3}}
    service.search(body, [service.corpus(store, "v")], {"v": store.properties("v")}, SourceFilter())
    service.vectors.wait()
    store.close()
    assert (ingest_home / "vectors" / "v" / "vec.usearch").exists()
    env = {**os.environ, "INGEST_HOME": str(ingest_home)}
    done = subprocess.run([sys.executable, "-m", "ingest.cli.main", "indices", "delete", "v", "--yes"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (ingest_home / "vectors" / "v").exists()


@pytest.mark.parametrize("damage", ["garbage", "flipped", "truncated", "no-meta"])
def test_damaged_side_car_is_rebuilt(ingest_home: Path, damage: str) -> None:
    data = _data()
    first = _start(ingest_home)
    node = next(first)
    _index(node.es, "v", data)
    node.built("v", data[0])
    first.close()  # the server stops
    file = ingest_home / "vectors" / "v" / "vec.usearch"
    raw = file.read_bytes()
    if damage == "garbage":
        file.write_bytes(b"not an index" * 100)
    elif damage == "flipped":
        file.write_bytes(raw[:len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 0xFF]) + raw[len(raw) // 2 + 1:])
    elif damage == "truncated":
        file.write_bytes(raw[:len(raw) // 3])
    else:
        file.with_suffix(".json").unlink()
    again = _start(ingest_home)
    node = next(again)
    try:
        answer = node.es.search(index="v", knn={"field": "vec", "query_vector": data[4].tolist(), "k": 10})
        assert _ids(answer) == _truth(data, data[4])  # answered (exactly, while the graph is rebuilt)
        node.context.search().vectors.wait()
        from usearch.index import Index

        rebuilt = Index.restore(str(file))
        assert rebuilt is not None and rebuilt.size == N
    finally:
        again.close()


def test_exact_below_setting() -> None:
    assert Settings.from_env({}).knn_exact_below == 10_000
    assert Settings.from_env({"INGEST_KNN_EXACT_BELOW": "250"}).knn_exact_below == 250
    assert Settings.from_env({"INGEST_KNN_EXACT_BELOW": "250"}).to_env()["INGEST_KNN_EXACT_BELOW"] == "250"
    for bad in ("many", "-1", "1.5"):
        with pytest.raises(ValueError, match="INGEST_KNN_EXACT_BELOW"):
            Settings.from_env({"INGEST_KNN_EXACT_BELOW": bad})


def test_ingest_search_exits_cleanly_while_a_graph_builds(ingest_home: Path) -> None:
    """A one-shot ``ingest search`` starts the build and exits at once: the build stops between two parts
    (a thread inside usearch at interpreter exit aborted the process)."""
    from ingest.sinks.base import BulkAction, FieldHint
    from ingest.sinks.embedded.store import EmbeddedStore

    data = _data(5000)
    store = EmbeddedStore(ingest_home / "indices.duckdb")
    store.ensure_index("v", {"vec": FieldHint("dense", DIMS, "cosine")})
    store.write([BulkAction("index", "v", str(i), {"vec": v.tolist()}) for i, v in enumerate(data)])
    store.close()
    env = {**os.environ, "INGEST_HOME": str(ingest_home), "INGEST_KNN_EXACT_BELOW": "100"}
    query = json.dumps({"knn": {"field": "vec", "query_vector": data[8].tolist(), "k": 3}, "_source": False})
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "ingest.cli.main", "search", "v", "--query", query], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "terminate" not in done.stderr
        assert '"_id": "8"' in done.stdout
