"""The simulate-ingest API through the official client (``es.simulate.ingest``), beside ``es.ingest.simulate``."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=60)


def _docs(answer: Any) -> list[dict[str, Any]]:
    return [entry["doc"] for entry in answer["docs"]]


def test_index_pipelines_substitutions_and_mapping_validation(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="dflt", processors=[{"set": {"field": "stored", "value": "default"}}])
    es.ingest.put_pipeline(id="fin", processors=[{"set": {"field": "final", "value": True}}])
    es.indices.create(index="sim", settings={"index.default_pipeline": "dflt", "index.final_pipeline": "fin"},
                      mappings={"properties": {"flag": {"type": "boolean"}}})
    answer = es.simulate.ingest(docs=[{"_index": "sim", "_id": "1", "_source": {"flag": True}},
                                      {"_index": "sim", "_id": "2", "_source": {"flag": "maybe"}}])
    first, second = _docs(answer)
    assert first == {"_id": "1", "_index": "sim", "_version": -3, "executed_pipelines": ["dflt", "fin"],
                     "_source": {"flag": True, "stored": "default", "final": True}}
    assert second["error"]["type"] == "document_parsing_exception"
    assert "failed to parse field [flag] of type [boolean]" in second["error"]["reason"]
    # a substitution replaces the stored default pipeline; nothing is written
    subbed = es.simulate.ingest(index="sim", docs=[{"_id": "3", "_source": {}}],
                                pipeline_substitutions={"dflt": {"processors": [{"set": {"field": "stored",
                                                                                         "value": "sub"}}]}})
    assert _docs(subbed)[0]["_source"] == {"stored": "sub", "final": True}
    assert es.count(index="sim")["count"] == 0
    # a request pipeline replaces the default; mapping_addition takes part in the validation
    added = es.simulate.ingest(index="new-idx", pipeline="fin", docs=[{"_source": {"n": "x"}}],
                               mapping_addition={"properties": {"n": {"type": "long"}}})
    doc = _docs(added)[0]
    assert doc["executed_pipelines"] == ["fin"] and doc["error"]["type"] == "document_parsing_exception"
    failing = es.simulate.ingest(index="sim", docs=[{"_source": {}}], pipeline_substitutions={
        "dflt": {"processors": [{"fail": {"message": "stop"}}]}})
    assert _docs(failing)[0]["error"]["reason"] == "stop"


def test_pipeline_simulate_through_the_client(es: Elasticsearch) -> None:
    out = es.ingest.simulate(pipeline={"processors": [{"set": {"field": "a", "value": 1}}]},
                             docs=[{"_source": {}}])
    assert out["docs"][0]["doc"]["_source"] == {"a": 1}
