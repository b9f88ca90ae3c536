"""``skip_existing`` end to end: a job (and ``_bulk``) run twice over the same documents, one changed in between,
sends only the changed text to the model the second time; the others keep their stored vectors. Against the
embedded store and the real OpenSearch node (its ``_mget``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.jobs import JobConfig, run_job
from ingest.jobs.bulkapi import run_bulk
from ingest.models.api import InferenceAPI
from ingest.models.results import InferenceResults
from ingest.sinks import open_sink
from tests.jobs.helpers import docs, write_jsonl
from tests.jobs.proxy import ThrottlingProxy

BODY = {"processors": [
    {"text_embedding": {"model_id": "tiny-dense", "field_map": {"text": "vec"}, "skip_existing": True}},
    {"sparse_encoding": {"model_id": "tiny-sparse", "field_map": {"text": "tokens"}, "skip_existing": True}},
]}


class CountingAPI(InferenceAPI):
    """The real InferenceAPI, recording the texts each ``infer`` call sends to an endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, list[str]] = {}

    def infer(self, inference_id: str, inputs: str | list[str], **kwargs: Any) -> InferenceResults:
        self.texts.setdefault(inference_id, []).extend([inputs] if isinstance(inputs, str) else inputs)
        return super().infer(inference_id, inputs, **kwargs)


def _run_twice(tmp_path: Path, dest: str, index: str, between: Callable[[], None] | None = None,
               read_from: str | None = None) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Two runs (the skip-unchanged cache off, so only skip_existing can spare the model); the texts of the
    second run per endpoint, and the stored documents after each run's d3 and d5 (first, second)."""
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(BODY), encoding="utf-8")
    data = docs(12)
    src = write_jsonl(tmp_path / "in.jsonl", data)
    config = JobConfig(source=str(src), index=index, dest=dest, pipeline=str(pipeline), id_field="doc_id",
                       skip_unchanged=False, source_options={"batch_size": 5}, backoff_initial_s=0.05,
                       backoff_max_s=0.2)
    api = CountingAPI()
    try:
        first = run_job(config, inference=api)
        assert first.indexed == 12 and first.failed == 0
        assert len(api.texts["tiny-dense"]) == 12 and len(api.texts["tiny-sparse"]) == 12
        read_from = read_from or dest
        before = [_get(read_from, index, "d3"), _get(read_from, index, "d5")]
        data[5]["text"] = "a brand new text"
        write_jsonl(src, data)
        api.texts.clear()
        if between is not None:
            between()
        second = run_job(config, inference=api)
        assert second.indexed == 12 and second.failed == 0
        after = [_get(read_from, index, "d3"), _get(read_from, index, "d5")]
        return [*before, *after], dict(api.texts)
    finally:
        api.close()


def _get(dest: str, index: str, doc_id: str) -> dict[str, Any]:
    if dest == "embedded":
        store = open_sink("embedded")
        try:
            doc = store.get(index, doc_id)  # type: ignore[attr-defined]
        finally:
            store.close()
    else:
        doc = httpx.get(f"{dest}/{index}/_doc/{doc_id}", timeout=30).json().get("_source")
    assert doc is not None
    return dict(doc)


def _check(found: list[dict[str, Any]], texts: dict[str, list[str]]) -> None:
    d3_before, d5_before, d3_after, d5_after = found
    assert texts == {"tiny-dense": ["a brand new text"], "tiny-sparse": ["a brand new text"]}
    assert d3_after["vec"] == pytest.approx(d3_before["vec"]) and d3_after["tokens"] == pytest.approx(d3_before["tokens"])
    assert d5_after["text"] == "a brand new text" and len(d5_after["vec"]) == 32
    assert d5_after["vec"] != pytest.approx(d5_before["vec"])


def test_job_into_the_embedded_store_embeds_only_the_changed_document(
    tiny_endpoints: dict[str, str], tmp_path: Path
) -> None:
    _check(*_run_twice(tmp_path, "embedded", "skip-emb"))


@pytest.mark.cluster
def test_job_into_opensearch_embeds_only_the_changed_document(
    tiny_endpoints: dict[str, str], tmp_path: Path, opensearch_url: str
) -> None:
    httpx.delete(f"{opensearch_url}/skip-os", timeout=30)
    _check(*_run_twice(tmp_path, opensearch_url, "skip-os"))


@pytest.mark.cluster
def test_an_overloaded_cluster_is_waited_out_rather_than_failing_the_lookup(
    tiny_endpoints: dict[str, str], tmp_path: Path, opensearch_url: str
) -> None:
    """The stored-document lookup meets 503s (a recovering cluster): the job waits them out like a bulk write
    instead of dead-lettering the batch, and still embeds only the changed document."""
    httpx.delete(f"{opensearch_url}/skip-overload", timeout=30)
    proxy = ThrottlingProxy(opensearch_url, reject_every=0).start()
    try:
        found, texts = _run_twice(tmp_path, proxy.url, "skip-overload", between=lambda: proxy.overload_mget(3),
                                  read_from=opensearch_url)
        assert proxy.mget_refused == 3
    finally:
        proxy.close()
    _check(found, texts)


@pytest.mark.cluster
@pytest.mark.parametrize("cluster", ["opensearch_url", "elasticsearch_url"])
def test_cluster_sinks_fetch_stored_sources_with_one_mget(cluster: str, request: pytest.FixtureRequest) -> None:
    from ingest.sinks.base import BulkAction

    url = request.getfixturevalue(cluster)
    httpx.delete(f"{url}/skip-fetch", timeout=30)
    sink = open_sink(url)
    try:
        assert sink.fetch("skip-fetch", ["a"]) == {}  # no index yet: nothing stored
        sink.ensure_index("skip-fetch", {})
        sink.begin_load("skip-fetch")  # refresh off: the realtime _mget still sees the documents
        written = sink.write([BulkAction("index", "skip-fetch", "a", {"text": "x", "n": 1}),
                              BulkAction("index", "skip-fetch", "b", {"text": "y"})])
        assert all(r.ok for r in written)
        assert sink.fetch("skip-fetch", ["a", "b", "zz", "a"]) == {"a": {"text": "x", "n": 1}, "b": {"text": "y"}}
        sink.end_load("skip-fetch")
    finally:
        sink.close()


def test_bulk_with_skip_existing_embeds_only_changed_documents(tiny_endpoints: dict[str, str]) -> None:
    from ingest.models.store import Store
    from ingest.processors import PipelineService

    api = CountingAPI()
    store = open_sink("embedded")
    try:
        service = PipelineService(Store(), api)
        service.put("skip", BODY)

        def bulk(texts: list[str]) -> dict[str, Any]:
            lines = [json.dumps(x) for i, t in enumerate(texts)
                     for x in ({"index": {"_index": "skip-bulk", "_id": str(i)}}, {"text": t})]
            return run_bulk(("\n".join(lines) + "\n").encode(), sink=store, pipelines=service,
                            request_pipeline="skip")

        assert not bulk(["the cat", "a dog", "hello world"])["errors"]
        first = store.get("skip-bulk", "0")  # type: ignore[attr-defined]
        api.texts.clear()
        out = bulk(["the cat", "a dog sat", "hello world"])
        assert not out["errors"] and [i["index"]["_id"] for i in out["items"]] == ["0", "1", "2"]
        assert api.texts == {"tiny-dense": ["a dog sat"], "tiny-sparse": ["a dog sat"]}
        again = store.get("skip-bulk", "0")  # type: ignore[attr-defined]
        assert again["vec"] == pytest.approx(first["vec"]) and again["text"] == "the cat"
        assert "_id" not in again and "_index" not in again  # metadata stays out of _source
    finally:
        store.close()
        api.close()
