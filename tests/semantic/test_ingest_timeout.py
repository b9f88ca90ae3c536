"""Ingest-time inference waits ``INGEST_INFERENCE_TIMEOUT_S``, not the REST API's 30 s: big bulks of
``semantic_text`` queued behind other bulks on a loaded machine used to fail at 30 s."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ingest.context import AppContext
from ingest.models.errors import ElasticsearchError
from ingest.models.results import InferenceResults
from ingest.processors import PipelineService
from ingest.processors.protocols import INGEST_INFERENCE_TIMEOUT_S
from ingest.sinks.base import BulkAction
from ingest.sinks.embedded import EmbeddedStore
from tests.processors.conftest import CountingAPI


class TimeoutRecorder:
    """Records the ``timeout_s`` each ``infer`` call of the wrapped (real) API is given (None: the default)."""

    def __init__(self, api: CountingAPI, monkeypatch: pytest.MonkeyPatch) -> None:
        self.timeouts: list[float | None] = []
        real = api.infer

        def infer(inference_id: str, inputs: str | list[str], **kwargs: Any) -> InferenceResults:
            self.timeouts.append(kwargs.get("timeout_s"))
            return real(inference_id, inputs, **kwargs)

        monkeypatch.setattr(api, "infer", infer)


def _store(api: CountingAPI, tmp_path: Path) -> EmbeddedStore:
    sink = AppContext(api=api).open_sink(f"embedded://{tmp_path / 's.duckdb'}")
    assert isinstance(sink, EmbeddedStore)
    sink.ensure_index("docs", {})
    sink.put_mapping("docs", {"dense": {"type": "semantic_text", "inference_id": "tiny-chunked"},
                              "sparse": {"type": "semantic_text", "inference_id": "tiny-sparse"}}, {})
    return sink


def test_the_ingest_timeout_is_generous() -> None:
    assert INGEST_INFERENCE_TIMEOUT_S >= 600  # ten minutes at least: a bulk of thousands of texts under load


def test_semantic_text_writes_use_the_ingest_timeout(tiny_api: CountingAPI, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = TimeoutRecorder(tiny_api, monkeypatch)
    store = _store(tiny_api, tmp_path)
    try:
        text = " ".join(f"word{i}" for i in range(25))  # three chunks of the chunked endpoint
        results = store.write([BulkAction("index", "docs", str(i), {"dense": f"{text} {i}", "sparse": f"doc {i}"})
                               for i in range(5)])
        assert all(r.ok for r in results)
    finally:
        store.close()
    assert len(recorder.timeouts) == 2  # one call per endpoint for the whole request
    assert recorder.timeouts == [INGEST_INFERENCE_TIMEOUT_S] * 2


@pytest.mark.parametrize("columnar", [True, False])
def test_inference_processor_uses_the_ingest_timeout(tiny_api: CountingAPI, monkeypatch: pytest.MonkeyPatch,
                                                     columnar: bool) -> None:
    service = PipelineService(tiny_api.store, tiny_api)
    service.put("embed", {"processors": [
        {"inference": {"model_id": "tiny-dense", "input_output": {"input_field": "text", "output_field": "vec"}}}]})
    pipeline = service.load("embed")
    recorder = TimeoutRecorder(tiny_api, monkeypatch)
    result = pipeline.run(pa.table({"text": ["the cat sat", "on the mat", "hello world"]}), columnar=columnar)
    assert all(o.status == "indexed" for o in result.outcomes)
    assert recorder.timeouts and set(recorder.timeouts) == {INGEST_INFERENCE_TIMEOUT_S}


def test_a_write_waits_behind_a_busy_deployment_where_a_short_timeout_gives_up(
        tiny_api: CountingAPI, tmp_path: Path) -> None:
    """The real deployment, its one allocation held for 1.5 s: a call with a 0.3 s timeout gets the 408, a
    ``semantic_text`` write queued at the same time waits and stores its embeddings."""
    tiny_api.infer("tiny-chunked", ["warm up"])  # deployed and loaded
    deployment = tiny_api.deployments.get("tiny-chunked")
    assert deployment is not None
    release = threading.Event()

    def hold(session: Any) -> Any:
        release.wait(1.5)
        return session.embed(["held"], None)

    held = deployment.submit(hold, 30)
    time.sleep(0.1)  # the allocation has taken it
    store = _store(tiny_api, tmp_path)
    try:
        with pytest.raises(ElasticsearchError) as short:
            tiny_api.infer("tiny-chunked", ["too hurried"], timeout_s=0.3)
        assert short.value.status == 408 and "timeout [300ms] waiting for inference result" in str(short.value)
        start = time.monotonic()
        results = store.write([BulkAction("index", "docs", "a", {"dense": "patient text"})])
        assert time.monotonic() - start > 0.8  # it waited for the held allocation
        assert all(r.ok for r in results), [r.error for r in results]
        doc = store.get("docs", "a")
        assert doc is not None and doc["_inference_fields"]["dense"]["inference"]["chunks"]["dense"]
    finally:
        release.set()
        store.close()
    held.result(5)
