"""Per-processor ingest stats in the real node's layout: the same pipeline and ``_bulk`` against ``ingest serve``
and the Elasticsearch 9 test node, the pipeline's ``processors`` list compared (names, types, counts, failures;
times differ by nature). The integ-test distribution's only processor is the test node's ``grok``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ingest.models.api import InferenceAPI
from tests.clusters import grok_module

pytestmark = pytest.mark.cluster


def _processors(url: str, pipeline: str) -> list[Any]:
    nodes = httpx.get(f"{url}/_nodes/stats/ingest", timeout=30).json()["nodes"]
    entry = next(iter(nodes.values()))["ingest"]["pipelines"][pipeline]
    out = []
    for item in entry["processors"]:
        ((name, body),) = item.items()
        stats = {k: v for k, v in body["stats"].items() if k != "time_in_millis"}
        out.append((name, body["type"], stats))
    return [(entry["count"], entry["failed"]), out]


def test_processor_stats_match_elasticsearch(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str) -> None:
    number = next(iter(httpx.get(f"{elasticsearch9_url}/_nodes/_local", timeout=30).json()["nodes"].values()))
    assert grok_module.build_error(number["version"]) is None
    pipeline = {"processors": [
        {"grok": {"field": "msg", "patterns": ["%{WORD:w}"], "tag": "first"}},
        {"grok": {"field": "msg", "patterns": ["%{NUMBER:n}"], "ignore_failure": True}},
        {"grok": {"field": "msg", "patterns": ["%{WORD:x} %{WORD:y}"]}},  # fails "a" and "c" (no painless for if)
    ]}
    docs = ["a", "b 2", "long words", "c"]
    body = "".join(json.dumps({"index": {"_index": "stats-check"}}) + "\n" + json.dumps({"msg": m}) + "\n"
                   for m in docs)
    answers = []
    for url in (live_server[0], elasticsearch9_url):
        assert httpx.put(f"{url}/_ingest/pipeline/stats-check", json=pipeline, timeout=30).status_code == 200
        r = httpx.post(f"{url}/_bulk?pipeline=stats-check", content=body,
                       headers={"content-type": "application/x-ndjson"}, timeout=60)
        assert r.status_code == 200
        answers.append(_processors(url, "stats-check"))
    assert answers[0] == answers[1], json.dumps(answers, indent=1)
