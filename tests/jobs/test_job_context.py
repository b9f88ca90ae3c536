"""A job keeps everything in the home of the context (or of the inference API) it is given."""

from __future__ import annotations

from pathlib import Path

from ingest.context import AppContext
from ingest.jobs import JobConfig, run_job
from ingest.models.api import InferenceAPI
from ingest.models.settings import Settings
from ingest.models.store import Store
from tests.jobs.helpers import write_jsonl

PIPELINE = {"processors": [{"set": {"field": "tagged", "value": "yes"}}]}


def test_run_job_keeps_everything_in_the_contexts_home(tmp_path: Path, ingest_home: Path) -> None:
    home = tmp_path / "job-home"
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "t": "a"}, {"id": "2", "t": "b"}])
    context = AppContext(Settings(home=home))
    try:
        context.pipelines().put("tag", PIPELINE)
        summary = run_job(JobConfig(source=str(source), index="docs", pipeline="tag", id_field="id"),
                          context=context)
        assert (summary.read, summary.indexed, summary.failed) == (2, 2, 0)
        sink = context.open_sink("embedded")
        try:
            assert sink.get("docs", "1") == {"id": "1", "t": "a", "tagged": "yes"}  # type: ignore[attr-defined]
        finally:
            sink.close()
        assert context.checkpoints(summary.job_id).load() is not None
    finally:
        context.close()
    assert sorted(p.name for p in ingest_home.iterdir()) == []  # $INGEST_HOME was never touched


def test_run_job_finds_the_pipeline_in_the_given_apis_registry(tmp_path: Path, ingest_home: Path) -> None:
    """Regression: the pipeline was looked up in ``$INGEST_HOME``'s registry whatever ``inference`` was."""
    own = tmp_path / "own"
    own.mkdir()
    api = InferenceAPI(Store(own / "registry.sqlite"))
    try:
        AppContext(api=api).pipelines().put("tag", PIPELINE)
        source = write_jsonl(tmp_path / "in.jsonl", [{"id": "1"}])
        summary = run_job(JobConfig(source=str(source), index="docs", pipeline="tag", id_field="id"), inference=api)
    finally:
        api.close()
    assert summary.indexed == 1
    assert (own / "indices.duckdb").exists() and not (ingest_home / "indices.duckdb").exists()
