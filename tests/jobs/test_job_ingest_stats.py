"""A job's final summary carries ``GET /_nodes/stats/ingest``'s ``ingest`` object for its run: documents through
the pipeline, the ones it failed (dropped ones count as processed, as in Elasticsearch), none still current."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.jobs import JobConfig, run_job
from tests.jobs.helpers import docs, write_jsonl

PIPELINE = {"processors": [
    {"drop": {"if": "ctx.n == 3"}},
    {"fail": {"if": "ctx.n % 10 == 7", "message": "sevens fail"}},
    {"uppercase": {"field": "text"}},
]}


def test_summary_has_the_pipeline_stats_of_the_run(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(95))
    pipeline = tmp_path / "p.json"
    pipeline.write_text(json.dumps(PIPELINE))
    summary = run_job(JobConfig(source=str(src), index="stats", id_field="doc_id", pipeline=str(pipeline),
                                max_errors="50", source_options={"batch_size": 20}))
    assert (summary.read, summary.indexed, summary.dropped, summary.failed) == (95, 85, 1, 9)
    body = summary.to_dict()
    stats = body["ingest"]
    entry = stats["pipelines"][str(pipeline)]
    assert (entry["count"], entry["failed"], entry["current"], entry["processors"]) == (95, 9, 0, [])
    assert stats["total"] == {k: entry[k] for k in ("count", "time_in_millis", "current", "failed")}
    assert "ingested_as_first_pipeline_in_bytes" not in entry  # not measured by jobs: left out, not zero
    assert "source" not in body and "members" not in body  # a file source reports nothing about itself


def test_summary_without_a_pipeline_has_no_ingest_stats(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(5))
    body = run_job(JobConfig(source=str(src), index="plain", id_field="doc_id")).to_dict()
    assert body["indexed"] == 5 and "ingest" not in body
