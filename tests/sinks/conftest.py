"""One conformance body for every sink: each target gives a sink plus an independent way to read back."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.sinks import open_sink
from ingest.sinks.base import Sink

_names = itertools.count()


@dataclass
class Target:
    """A sink under test and a reader that does not go through it."""

    name: str
    sink: Sink
    url: str | None = None  # for clusters
    path: Path | None = None  # for files

    def index(self, base: str) -> str:
        """A fresh index name (cluster nodes live for the whole session)."""
        return f"{base}-{next(_names)}"

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A plain HTTP request to the cluster (not through the sink's client)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """The stored source of a document, read independently of the sink."""
        if self.url:
            status, body = self.http("GET", f"/{index}/_doc/{doc_id}")
            return body["_source"] if status == 200 else None
        return self.sink.get(index, doc_id)  # type: ignore[attr-defined]

    def count(self, index: str) -> int:
        """Documents in the index."""
        if self.url:
            self.http("POST", f"/{index}/_refresh")
            return int(self.http("GET", f"/{index}/_count")[1]["count"])
        return int(self.sink.count(index))  # type: ignore[attr-defined]

    def settings(self, index: str) -> dict[str, Any]:
        """Flat index settings (clusters only)."""
        status, body = self.http("GET", f"/{index}/_settings?flat_settings=true")
        assert status == 200, body
        return dict(body[index]["settings"])


SINKS = [
    "embedded",
    "files",
    "lancedb",
    pytest.param("elasticsearch", marks=pytest.mark.cluster),
    pytest.param("elasticsearch9", marks=pytest.mark.cluster),
    pytest.param("opensearch", marks=pytest.mark.cluster),
]


@pytest.fixture(params=SINKS)
def target(request: pytest.FixtureRequest, tmp_path: Path, ingest_home: Path) -> Iterator[Target]:
    """Every sink in turn."""
    kind = request.param
    if kind == "embedded":
        t = Target(kind, open_sink("embedded"))
    elif kind == "files":
        t = Target(kind, open_sink(f"file://{tmp_path / 'out'}"), path=tmp_path / "out")
    elif kind == "lancedb":
        t = Target(kind, open_sink(f"lancedb://{tmp_path / 'lance'}"), path=tmp_path / "lance")
    else:
        url = request.getfixturevalue(f"{kind}_url")
        t = Target(kind, open_sink(url), url=url)
    try:
        yield t
    finally:
        t.sink.close()
