"""The index APIs answer as a real Elasticsearch node does: the same index, mapping, settings, alias and ``_cat``
calls over HTTP against ``ingest serve`` and against the Elasticsearch 9 test node, compared body by body
(uuids, creation dates and version numbers set aside)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx
import pytest

from ingest.models.api import InferenceAPI

pytestmark = pytest.mark.cluster
_names = itertools.count()
_VOLATILE = {"uuid", "index_uuid", "creation_date", "version", "took", "cluster_name"}


def _normalized(value: Any) -> Any:
    """The body without what differs between any two clusters (uuids, dates, versions)."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\[([^/\]]+)/[A-Za-z0-9_-]{20,22}\]", r"[\1/UUID]", value)
    return value


def _answer(r: httpx.Response) -> tuple[int, Any]:
    if not r.content:
        return r.status_code, None
    if "json" not in r.headers.get("content-type", ""):
        return r.status_code, r.text
    body = r.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # root causes and stack details differ
        error = body["error"]
        body = {"status": body.get("status"), "type": error.get("type"), "reason": error.get("reason")}
    return r.status_code, _normalized(body)


def _calls(index: str) -> list[tuple[str, str, Any]]:
    alias = f"{index}-alias"
    return [
        ("PUT", f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                             "mappings": {"properties": {"title": {"type": "text"}, "n": {"type": "long"}}}}),
        ("PUT", f"/{index}", {}),  # already exists
        ("HEAD", f"/{index}", None),
        ("HEAD", f"/{index}-missing", None),
        ("GET", f"/{index}/_mapping", None),
        ("PUT", f"/{index}/_mapping", {"properties": {"tag": {"type": "keyword"}}}),
        ("GET", f"/{index}/_mapping", None),
        ("PUT", f"/{index}/_mapping", {"properties": {"n": {"type": "text"}}}),  # a type change is refused
        ("PUT", f"/{index}/_settings", {"index": {"number_of_replicas": 1}}),
        ("PUT", f"/{index}/_settings", {"index": {"number_of_shards": 2}}),  # static
        ("POST", "/_aliases", {"actions": [{"add": {"index": index, "alias": alias}}]}),
        ("GET", f"/_alias/{alias}", None),
        ("GET", f"/{index}/_alias", None),
        ("HEAD", f"/_alias/{alias}", None),
        ("PUT", f"/{index}/_doc/1?refresh=true", {"title": "one", "n": 1}),
        ("PUT", f"/{alias}/_doc/2?refresh=true", {"title": "two", "n": 2}),
        ("POST", f"/{index}/_refresh", None),
        ("GET", f"/_cat/indices/{index}?format=json&h=index,health,status,pri,rep,docs.count", None),
        ("GET", f"/_cat/count/{index}?format=json&h=count", None),
        ("GET", f"/_cat/indices/{index}?h=index,pri,rep,docs.count", None),
        ("GET", f"/{index}-missing/_mapping", None),
        ("GET", f"/{index}/_settings", None),
        ("GET", f"/{index}", None),
        ("GET", f"/_cluster/health/{index}", None),
        ("POST", f"/{index}/_flush", None),
        ("PUT", "/Bad-Name", {}),
        ("DELETE", f"/{index}/_alias/{alias}", None),
        ("DELETE", f"/{index}", None),
        ("DELETE", f"/{index}", None),
        ("GET", f"/{index}", None),
    ]


def test_index_api_bodies_match_elasticsearch(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str
                                              ) -> None:
    index = f"idxapi-{next(_names)}"
    differences = []
    with httpx.Client(timeout=60) as client:
        for method, path, body in _calls(index):
            kwargs: dict[str, Any] = {} if body is None else {"json": body}
            mine = _answer(client.request(method, live_server[0] + path, **kwargs))
            real = _answer(client.request(method, elasticsearch9_url + path, **kwargs))
            if mine != real:
                differences.append((method, path, mine, real))
    assert differences == [], json.dumps(differences, indent=1)
