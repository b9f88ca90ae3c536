"""``GET /_nodes/stats/ingest``: per-pipeline and per-processor counters in Elasticsearch's layout, taken by the
pipeline executor while ``_bulk`` runs (through the official client against a real server)."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=60)


def _ingest(es: Elasticsearch) -> dict[str, Any]:
    nodes = es.nodes.stats(metric="ingest")["nodes"]
    assert len(nodes) == 1
    return dict(next(iter(nodes.values()))["ingest"])


def _processors(stats: dict[str, Any], pipeline: str) -> list[tuple[str, str, dict[str, int]]]:
    out = []
    for entry in stats["pipelines"][pipeline]["processors"]:
        ((name, body),) = entry.items()
        out.append((name, body["type"], body["stats"]))
    return out


def test_per_processor_counts(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="p", processors=[
        {"set": {"field": "a", "value": "x"}},                                   # columnar: every document
        {"uppercase": {"field": "name", "tag": "up", "ignore_failure": True}},   # fails where name is missing
        {"set": {"field": "big", "value": True, "if": "ctx.n > 2"}},             # counts where the if held
        {"fail": {"message": "no", "if": "ctx.n == 5"}},                         # fails one document
    ])
    docs = [{"_index": "docs", "_id": str(n), "n": n, **({"name": f"d{n}"} if n % 2 else {})} for n in range(6)]
    ok, errors = helpers.bulk(es, docs, pipeline="p", raise_on_error=False)
    assert ok == 5 and isinstance(errors, list) and len(errors) == 1
    stats = _ingest(es)
    assert _processors(stats, "p") == [
        ("set", "set", {"count": 6, "time_in_millis": pytest.approx(0, abs=5000), "current": 0, "failed": 0}),
        ("uppercase:up", "uppercase", {"count": 6, "time_in_millis": pytest.approx(0, abs=5000), "current": 0,
                                       "failed": 3}),
        ("set", "conditional", {"count": 3, "time_in_millis": pytest.approx(0, abs=5000), "current": 0,
                                "failed": 0}),
        ("fail", "conditional", {"count": 1, "time_in_millis": pytest.approx(0, abs=5000), "current": 0,
                                 "failed": 1}),
    ]
    pipeline = stats["pipelines"]["p"]
    assert (pipeline["count"], pipeline["failed"], pipeline["current"]) == (6, 1, 0)
    assert (stats["total"]["count"], stats["total"]["failed"]) == (6, 1)
    # counters add up across requests, processor by processor
    helpers.bulk(es, [{"_index": "docs", "_id": "9", "n": 9, "name": "z"}], pipeline="p")
    counts = [s["count"] for _, _, s in _processors(_ingest(es), "p")]
    assert counts == [7, 7, 4, 1]


def test_called_pipelines_and_replaced_pipelines(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="inner", processors=[{"lowercase": {"field": "name"}}])
    es.ingest.put_pipeline(id="outer", processors=[{"pipeline": {"name": "inner", "tag": "call"}},
                                                   {"rename": {"field": "name", "target_field": "label"}}])
    helpers.bulk(es, [{"_index": "docs", "_id": "1", "name": "A"}, {"_index": "docs", "_id": "2", "name": "B"}],
                 pipeline="outer")
    stats = _ingest(es)
    assert [(n, t, s["count"]) for n, t, s in _processors(stats, "outer")] == [
        ("pipeline:inner:call", "pipeline", 2), ("rename", "rename", 2)]
    assert es.get(index="docs", id="1")["_source"] == {"label": "a"}
    # a replaced pipeline's processors start again from zero; the pipeline's own totals go on
    es.ingest.put_pipeline(id="outer", processors=[{"set": {"field": "k", "value": 1}}])
    helpers.bulk(es, [{"_index": "docs", "_id": "3", "name": "C"}], pipeline="outer")
    stats = _ingest(es)
    assert [(n, s["count"]) for n, _, s in _processors(stats, "outer")] == [("set", 1)]
    assert stats["pipelines"]["outer"]["count"] == 3


def test_info_ingest_has_the_same_processors(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="p", processors=[{"set": {"field": "a", "value": 1}}])
    helpers.bulk(es, [{"_index": "docs", "_id": "1"}], pipeline="p")
    body = es.perform_request("GET", "/_info/ingest").body
    assert body["ingest"]["pipelines"]["p"]["processors"][0]["set"]["stats"]["count"] == 1
