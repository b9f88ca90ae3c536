"""Reindex Elasticsearch → OpenSearch → embedded with the index source and the sinks; vectors checked."""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint, Sink
from ingest.sinks.embedded import EmbeddedStore
from ingest.sources import open_source

pytestmark = pytest.mark.cluster

HINTS = {"emb": FieldHint("dense", 4, "cosine"), "ml.tokens": FieldHint("sparse")}


def _vector(i: int) -> list[float]:
    raw = [math.sin(i + k) for k in range(4)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


def _doc(i: int) -> dict[str, Any]:
    return {"title": f"doc {i}", "emb": _vector(i), "ml": {"tokens": {f"t{i % 7}": 1.0 + i / 10, "common": 0.5}}}


def _plain(value: Any) -> Any:
    """Arrow rows → JSON documents (maps come back from to_pylist as lists of pairs)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list) and value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        return {k: v for k, v in value}
    return value


def _copy(url: str, index: str, sink: Sink, slices: int) -> int:
    source = open_source(f"{url}/{index}", slices=slices, batch_size=25)
    sink.ensure_index(index, HINTS)
    sink.begin_load(index)
    copied = 0
    try:
        for sb in source.batches():
            assert not sb.errors
            rows = [_plain(r) for r in pa.Table.from_batches([sb.batch]).to_pylist()]
            actions = [BulkAction("index", index, r.pop("_id"), r) for r in rows]
            results = sink.write(actions)
            assert all(r.status == 201 for r in results), results
            copied += len(actions)
    finally:
        sink.end_load(index)
        source.close()
    return copied


def test_reindex_es_to_opensearch_to_embedded(elasticsearch_url: str, opensearch_url: str, ingest_home: Path) -> None:
    index = "reindex-e2e"
    es = open_sink(elasticsearch_url)
    es.ensure_index(index, HINTS)
    assert all(r.status == 201 for r in es.write([BulkAction("index", index, f"d{i}", _doc(i)) for i in range(60)]))
    es.refresh(index)
    es.close()

    os_sink = open_sink(opensearch_url)
    assert _copy(elasticsearch_url, index, os_sink, slices=2) == 60
    os_sink.close()
    knn = {"size": 1, "query": {"knn": {"emb": {"vector": _vector(5), "k": 3}}}}
    req = urllib.request.Request(f"{opensearch_url}/{index}/_search", data=json.dumps(knn).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["hits"]["hits"][0]["_id"] == "d5"

    store = EmbeddedStore()
    assert _copy(opensearch_url, index, store, slices=1) == 60
    assert store.count(index) == 60
    for i in range(60):
        got = store.get(index, f"d{i}")
        assert got is not None and got["title"] == f"doc {i}"
        assert got["emb"] == pytest.approx(_vector(i), abs=1e-6)
        want = _doc(i)["ml"]["tokens"]
        assert got["ml"]["tokens"].keys() == want.keys()
        for token, weight in want.items():  # rank_features keeps ~9 significant bits
            assert got["ml"]["tokens"][token] == pytest.approx(weight, rel=0.01)
    assert store.search(index, "emb", _vector(5), 1)[0]["_id"] == "d5"
    top = store.search(index, "ml.tokens", {"t3": 1.0}, 3)
    assert {h["_id"] for h in top} <= {f"d{i}" for i in range(3, 60, 7)} and top[0]["_id"] == "d59"
    store.close()
