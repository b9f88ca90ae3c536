"""Engine-specific behaviour of the cluster sinks: mappings from hints, rank_features clean-up, versions."""

from __future__ import annotations

import pytest

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint
from ingest.sinks.elasticsearch import ElasticsearchSink
from ingest.sinks.opensearch import OpenSearchSink
from tests.sinks.conftest import Target

pytestmark = pytest.mark.cluster

HINTS = {"ml.dense": FieldHint("dense", 3, "dot_product"), "ml.sparse": FieldHint("sparse")}


@pytest.mark.parametrize("fixture, major", [("elasticsearch_url", 8), ("elasticsearch9_url", 9)])
def test_elasticsearch_mappings_and_server_major(request: pytest.FixtureRequest, fixture: str, major: int) -> None:
    url = request.getfixturevalue(fixture)
    sink = open_sink(url)
    assert isinstance(sink, ElasticsearchSink) and sink.major == major
    t = Target("elasticsearch", sink, url=url)
    index = t.index("map-es")
    sink.ensure_index(index, HINTS)
    _, body = t.http("GET", f"/{index}/_mapping")
    ml = body[index]["mappings"]["properties"]["ml"]["properties"]
    assert ml["dense"]["type"] == "dense_vector" and ml["dense"]["dims"] == 3
    assert ml["dense"]["similarity"] == "dot_product"
    assert ml["sparse"] == {"type": "sparse_vector"}
    sink.close()


def test_opensearch_mappings_and_rank_features_cleanup(opensearch_url: str) -> None:
    sink = open_sink(opensearch_url)
    assert isinstance(sink, OpenSearchSink)
    t = Target("opensearch", sink, url=opensearch_url)
    index = t.index("map-os")
    sink.ensure_index(index, HINTS)
    _, body = t.http("GET", f"/{index}/_mapping")
    ml = body[index]["mappings"]["properties"]["ml"]["properties"]
    assert ml["dense"] == {"type": "knn_vector", "dimension": 3,
                           "method": {"engine": "lucene", "space_type": "innerproduct", "name": "hnsw",
                                      "parameters": ml["dense"]["method"].get("parameters", {})}}
    assert ml["sparse"] == {"type": "rank_features"}
    assert t.settings(index)["index.knn"] == "true"
    source = {"ml": {"dense": [0.1, 0.2, 0.3], "sparse": {"good": 1.5, "zero": 0.0, "neg": -2.0, "dotted.tok": 0.5}}}
    result = sink.write([BulkAction("index", index, "1", source)])[0]
    assert result.status == 201, result
    assert source["ml"]["sparse"]["zero"] == 0.0  # the caller's document is left alone
    assert sink.stats == {"dropped_weights": 2, "dotted_tokens": 1}
    stored = t.get(index, "1")
    assert stored is not None and stored["ml"]["sparse"] == {"good": 1.5, "dotted.tok": 0.5}
    sink.close()


def test_opensearch_weight_cleanup_leaves_the_callers_document_untouched() -> None:
    """Sparse fields at different depths: cleaning the deeper one must not write into the caller's objects."""
    sink = OpenSearchSink("http://127.0.0.1:1")  # no request is made
    sink._sparse["i"] = ["a.x", "a.b.y"]
    source = {"a": {"x": {"t": -1.0, "u": 1.0}, "b": {"y": {"t": -1.0, "u": 2.0}}}}
    out = sink.prepare_source(source, "i")
    assert out == {"a": {"x": {"u": 1.0}, "b": {"y": {"u": 2.0}}}}
    assert source == {"a": {"x": {"t": -1.0, "u": 1.0}, "b": {"y": {"t": -1.0, "u": 2.0}}}}
