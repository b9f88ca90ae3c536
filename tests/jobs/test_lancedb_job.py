"""A pipeline job into LanceDB and ``ingest search`` on it, as real CLI subprocesses, against the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import docs, ingest, summary_of, write_jsonl


def test_pipeline_job_and_search_on_lancedb_match_the_embedded_store(tiny_endpoints: dict[str, str],
                                                                      tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(25))
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(pipeline_body()), encoding="utf-8")
    lance = f"lancedb://{tmp_path / 'lance'}"
    hits = {}
    for dest in ("embedded", lance):
        proc = ingest("run", "--source", str(src), "--index", "s", "--pipeline", str(pipeline), "--id-field", "doc_id",
                      "--dest", dest)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert summary_of(proc)["indexed"] == 25
        for endpoint in ("tiny-dense", "tiny-sparse"):
            found = ingest("search", "s", "hello world 7", "--endpoint", endpoint, "-k", "25", "--dest", dest)
            assert found.returncode == 0, found.stderr
            got = [(h["_id"], round(h["_score"], 4)) for h in json.loads(found.stdout)["hits"]["hits"]]
            hits[(dest, endpoint)] = sorted(got, key=lambda hit: (-hit[1], hit[0]))  # ties: any order (so k = all)
    for endpoint in ("tiny-dense", "tiny-sparse"):
        assert hits[(lance, endpoint)] and hits[(lance, endpoint)] == hits[("embedded", endpoint)]
    refused = ingest("search", "s", "x", "--dest", f"file://{tmp_path / 'out.jsonl'}")
    assert refused.returncode == 2 and "does not support vector search" in refused.stderr
