"""``filter_path`` as Elasticsearch applies it: unit cases, then through the official client and raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from ingest.models.api import InferenceAPI
from ingest.server.filterpath import apply_filter_path

DOC: dict[str, Any] = {
    "took": 3, "errors": False,
    "nodes": {"n1": {"name": "a", "version": "9.1.0", "jvm": {"pid": 1, "mem": {"heap": 5}}},
              "n2": {"name": "b", "version": "9.1.0", "jvm": {"pid": 2}}},
    "items": [{"index": {"_id": "1", "status": 201}}, {"index": {"_id": "2", "status": 400, "error": "x"}}],
}


@pytest.mark.parametrize(("expr", "expected"), [
    ("took", {"took": 3}),
    ("nodes.*.version", {"nodes": {"n1": {"version": "9.1.0"}, "n2": {"version": "9.1.0"}}}),
    ("nodes.n1.name,took", {"took": 3, "nodes": {"n1": {"name": "a"}}}),
    ("**.pid", {"nodes": {"n1": {"jvm": {"pid": 1}}, "n2": {"jvm": {"pid": 2}}}}),
    ("nodes.**.heap", {"nodes": {"n1": {"jvm": {"mem": {"heap": 5}}}}}),
    ("items.*.status", {"items": [{"index": {"status": 201}}, {"index": {"status": 400}}]}),
    ("items.*.error", {"items": [{"index": {"error": "x"}}]}),
    ("nothing.here", {}),
    ("-nodes,-items", {"took": 3, "errors": False}),
    ("-nodes.*.jvm,nodes", {"nodes": {"n1": {"name": "a", "version": "9.1.0"}, "n2": {"name": "b", "version": "9.1.0"}}}),
    ("n*s.n2.name", {"nodes": {"n2": {"name": "b"}}}),
    ("", DOC),
])
def test_filter_path_cases(expr: str, expected: dict[str, Any]) -> None:
    assert apply_filter_path(DOC, expr) == expected


def test_filter_path_through_the_official_client(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    es = Elasticsearch(url, request_timeout=30)
    nodes = es.nodes.info(filter_path="nodes.*.version")
    ((node,),) = [list(nodes["nodes"].values())]
    assert node == {"version": "9.1.0"} and set(nodes) == {"nodes"}
    assert es.license.get(filter_path="license.type").body == {"license": {"type": "basic"}}
    assert es.info(filter_path="version.number").body == {"version": {"number": "9.1.0"}}


def test_errors_are_never_filtered(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.get(f"{url}/_index_template/none?filter_path=index_templates", timeout=30)
    assert r.status_code == 404 and r.json()["error"]["type"] == "resource_not_found_exception"
    r = httpx.post(f"{url}/_mtermvectors?filter_path=took", timeout=30)
    assert r.json() == {"error": "no handler found for uri [/_mtermvectors?filter_path=took] and method [POST]", "status": 400}


def test_bulk_with_logstash_filter_path(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    lines = [{"index": {"_index": "ls", "_id": "1"}}, {"a": 1}, {"index": {"_index": "ls", "_id": ""}}, {"a": 2}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    r = httpx.post(f"{url}/_bulk?filter_path=errors,items.*.error,items.*.status", content=body,
                   headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {"errors", "items"} and out["errors"] is True
    assert out["items"][0] == {"index": {"status": 201}}
    assert set(out["items"][1]["index"]) == {"status", "error"} and out["items"][1]["index"]["status"] == 400
