"""``ingest reindex`` from a real OpenSearch node into an embedded index mapping a ``semantic_text`` field: the
field is embedded on the way in; a second reindex over the stored documents indexes them all again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ingest.context import AppContext
from ingest.jobs import JobConfig, run_job
from ingest.sinks.embedded import EmbeddedStore
from tests.jobs.helpers import docs, ingest, summary_of, write_jsonl
from tests.processors.conftest import CountingAPI


@pytest.mark.cluster
def test_reindex_from_opensearch_embeds_semantic_text(
        tiny_api: CountingAPI, ingest_home: Path, tmp_path: Path, opensearch_url: str) -> None:
    data = docs(30)
    httpx.delete(f"{opensearch_url}/sem-reindex-src", timeout=30)
    loaded = run_job(JobConfig(source=str(write_jsonl(tmp_path / "in.jsonl", data)), index="sem-reindex-src",
                               dest=opensearch_url, id_field="doc_id"))
    assert loaded.indexed == 30
    store = AppContext(api=tiny_api).open_sink("embedded")
    assert isinstance(store, EmbeddedStore)
    store.ensure_index("copied", {})
    store.put_mapping("copied", {"text": {"type": "semantic_text", "inference_id": "tiny-sparse"}}, {})
    store.close()
    for _ in range(2):
        proc = ingest("reindex", "--source-url", opensearch_url, "--source-index", "sem-reindex-src",
                      "--index", "copied")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert summary_of(proc)["indexed"] == 30
    store = EmbeddedStore(ingest_home / "indices.duckdb")
    try:
        assert store.count("copied") == 30
        for d in data[:5]:
            got = store.get("copied", d["doc_id"])
            assert got is not None and got["text"] == d["text"]
            entry = got["_inference_fields"]["text"]["inference"]
            assert entry["inference_id"] == "tiny-sparse" and entry["chunks"]["text"][0]["embeddings"]
    finally:
        store.close()
