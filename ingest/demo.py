"""The README's main command (``make demo`` → ``python -m ingest.demo``), built on the job runner.

Runs the sample pipeline (E5 and ELSER through the inference processor, plus a few ordinary processors) over
``sample_data/documents.jsonl`` into the embedded index ``sample``, then runs the queries of
``sample_data/queries.txt`` as dense and sparse searches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SAMPLE_PIPELINE: dict[str, Any] = {
    "description": "Sample: tidy the document, then E5 (dense) and ELSER (sparse) embeddings of title + body",
    "processors": [
        {"trim": {"field": "title"}},
        {"lowercase": {"field": "category", "ignore_missing": True}},
        {"set": {"field": "content", "value": "{{{title}}}. {{{body}}}"}},
        {"inference": {"model_id": ".multilingual-e5-small-elasticsearch",
                       "input_output": [{"input_field": "content", "output_field": "content_e5"}]}},
        {"inference": {"model_id": ".elser-2-elasticsearch",
                       "input_output": [{"input_field": "content", "output_field": "content_elser"}]}},
        {"remove": {"field": "content"}},
    ],
}


def run_demo(sample_dir: Path, *, index: str = "sample", k: int = 3, out: Any = None) -> dict[str, Any]:
    """Ingest the sample data and print the hits of each query for both vector fields; returns the results."""
    from ingest.jobs import JobConfig, run_job
    from ingest.jobs.search import search
    from ingest.models.home import ingest_home, open_private

    out = out or sys.stdout
    pipeline_file = ingest_home() / "sample-pipeline.json"
    with open_private(pipeline_file) as fh:
        fh.write(json.dumps(SAMPLE_PIPELINE))
    summary = run_job(JobConfig(source=str(sample_dir / "documents.jsonl"), index=index,
                                pipeline=str(pipeline_file), id_field="id", job_id="demo"))
    out.write(f"indexed {summary.indexed} documents into [{index}] in {summary.elapsed_s:.1f}s "
              f"({summary.docs_per_s:.1f} docs/s; {summary.failed} failed)\n")
    results: dict[str, Any] = {"summary": summary.to_dict(), "queries": {}}
    queries = [q.strip() for q in (sample_dir / "queries.txt").read_text(encoding="utf-8").splitlines() if q.strip()]
    for query in queries:
        out.write(f"\n{query}\n")
        per_field = {}
        for field, label in (("content_e5", "dense"), ("content_elser", "sparse")):
            hits = search(index, query, field=field, k=k)["hits"]["hits"]
            per_field[label] = [h["_id"] for h in hits]
            for h in hits:
                out.write(f"  {label:<6} {h['_score']:.3f}  {h['_source'].get('title', h['_id'])}\n")
        results["queries"][query] = per_field
    return results


if __name__ == "__main__":
    run_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "sample_data")
