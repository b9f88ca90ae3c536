"""Jobs run the pipelines ``_bulk`` would: the index's default (unless ``--pipeline``) and final pipelines,
on an alias's write index (``jobs.jobpipelines`` over ``indices.targets``)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.indices.catalog import Alias, IndexCatalog
from ingest.jobs.config import JobConfig
from ingest.jobs.runner import run_job
from ingest.models.store import Store
from ingest.processors import PipelineService
from ingest.sinks.embedded.store import EmbeddedStore


def _docs(tmp: Path) -> str:
    path = tmp / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "n": i}) + "\n" for i in range(3)), encoding="utf-8")
    return str(path)


def test_a_job_runs_the_default_then_the_final_pipeline_on_the_alias_write_index(ingest_home: Path,
                                                                                  tmp_path: Path) -> None:
    service = PipelineService(Store())
    service.put("dflt", {"processors": [{"set": {"field": "by", "value": "default"}}]})
    service.put("fin", {"processors": [{"set": {"field": "done", "value": True}}]})
    service.put("req", {"processors": [{"set": {"field": "by", "value": "request"}}]})
    catalog = IndexCatalog()
    catalog.put_settings("real", {"index.default_pipeline": "dflt", "index.final_pipeline": "fin"})
    catalog.apply_alias_changes([Alias("writes", "real", True)], [])
    catalog.close()
    summary = run_job(JobConfig(source=_docs(tmp_path), index="writes", id_field="id"))
    assert summary.indexed == 3
    store = EmbeddedStore()
    try:
        assert not store.index_exists("writes")
        assert store.get("real", "1") == {"id": "1", "n": 1, "by": "default", "done": True}
    finally:
        store.close()
    run_job(JobConfig(source=_docs(tmp_path), index="real", id_field="id", pipeline="req"))
    store = EmbeddedStore()
    try:
        assert store.get("real", "2") == {"id": "2", "n": 2, "by": "request", "done": True}
    finally:
        store.close()
