"""``ingest reindex``: an OpenSearch index through a pipeline into the embedded store, ids kept, vectors
added; then the same data through the pipeline into OpenSearch: vectors mapped, the model not called again."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ingest.jobs import JobConfig, run_job
from ingest.sinks import open_sink
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import docs, ingest, summary_of, write_jsonl


@pytest.mark.cluster
def test_reindex_from_opensearch_into_embedded_through_a_pipeline(
    tiny_endpoints: dict[str, str], tmp_path: Path, opensearch_url: str
) -> None:
    data = docs(120)
    httpx.delete(f"{opensearch_url}/jobs-reindex-src", timeout=30)
    loaded = run_job(JobConfig(source=str(write_jsonl(tmp_path / "in.jsonl", data)), index="jobs-reindex-src",
                               dest=opensearch_url, id_field="doc_id"))
    assert loaded.indexed == 120
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(pipeline_body()), encoding="utf-8")
    proc = ingest("reindex", "--source-url", opensearch_url, "--source-index", "jobs-reindex-src",
                  "--index", "copied", "--pipeline", str(pipeline))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert summary_of(proc)["indexed"] == 120
    store = open_sink("embedded")
    try:
        assert store.count("copied") == 120  # type: ignore[attr-defined]
        for d in data[:10]:
            got = store.get("copied", d["doc_id"])  # type: ignore[attr-defined]
            assert got is not None and got["text"] == d["text"] and len(got["vec"]) == 32 and got["tokens"]
    finally:
        store.close()

    # Into OpenSearch: the dense field mapped as knn_vector, the sparse one as rank_features.
    httpx.delete(f"{opensearch_url}/jobs-reindex-back", timeout=30)
    back = run_job(JobConfig(source=str(write_jsonl(tmp_path / "again.jsonl", data)), index="jobs-reindex-back",
                             dest=opensearch_url, pipeline=str(pipeline), id_field="doc_id"))
    assert back.indexed == 120 and back.cache_hits == 240  # the same texts: the model was not called again
    mapping = httpx.get(f"{opensearch_url}/jobs-reindex-back/_mapping", timeout=30).json()
    props = mapping["jobs-reindex-back"]["mappings"]["properties"]
    assert props["vec"]["type"] == "knn_vector" and props["vec"]["dimension"] == 32
    assert props["tokens"]["type"] == "rank_features"
