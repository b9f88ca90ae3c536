"""`--max-errors`: a job whose documents all fail the same way stops early and says which setting to change
(real CLI subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.jobs.helpers import ingest, summary_of, write_jsonl


def _setup(tmp_path: Path, n: int = 3000) -> tuple[dict[str, str], Path, Path]:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    source = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "title": f"Title {i}"} for i in range(n)])
    misspelt = tmp_path / "pipeline.json"
    misspelt.write_text(json.dumps({"processors": [{"lowercase": {"field": "titel"}}]}))
    return env, source, misspelt


def _letters(env: dict[str, str], job: str) -> int:
    return len(ingest("dead-letter", "list", "--job-id", job, env=env).stdout.splitlines())


def test_misspelt_field_stops_early_naming_the_error_and_the_setting(tmp_path: Path) -> None:
    env, source, misspelt = _setup(tmp_path)
    proc = ingest("run", "--source", str(source), "--index", "docs", "--pipeline", str(misspelt), "--id-field", "id",
                  "--job-id", "typo", "--batch-size", "250", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "--max-errors" in proc.stderr
    assert "the first 1000 documents all failed with the same error" in proc.stderr
    assert "field [titel] not present as part of path [titel]" in proc.stderr
    assert "too_many_errors_exception" in proc.stderr
    assert 1000 <= _letters(env, "typo") < 3000  # stopped long before the end


def test_max_errors_percent_lets_the_job_set_everything_aside(tmp_path: Path) -> None:
    env, source, misspelt = _setup(tmp_path)
    proc = ingest("run", "--source", str(source), "--index", "docs", "--pipeline", str(misspelt), "--id-field", "id",
                  "--job-id", "all", "--batch-size", "250", "--max-errors", "100%", env=env)
    assert proc.returncode == 1, proc.stderr
    assert summary_of(proc)["failed"] == 3000


def test_max_errors_count_and_percent_stop_mixed_failures(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    docs = [{"id": f"d{i}", "n": "x" if i % 4 == 0 else i} for i in range(1, 401)]  # 25% fail the long mapping
    source = write_jsonl(tmp_path / "docs.jsonl", docs)
    ok = ingest("run", "--source", str(source), "--index", "a", "--id-field", "id", "--max-errors", "30%", env=env)
    assert ok.returncode == 1, ok.stderr  # finished; some documents dead-lettered
    assert summary_of(ok)["failed"] == 100
    stopped = ingest("run", "--source", str(source), "--index", "b", "--id-field", "id", "--max-errors", "10%", env=env)
    assert stopped.returncode == 2 and "more than --max-errors 10%" in stopped.stderr, stopped.stderr
    counted = ingest("run", "--source", str(source), "--index", "c", "--id-field", "id", "--max-errors", "5",
                     "--batch-size", "20", "--bulk-docs", "20", env=env)
    assert counted.returncode == 2 and "more than --max-errors 5" in counted.stderr, counted.stderr
    bad = ingest("run", "--source", str(source), "--index", "d", "--max-errors", "lots", env=env)
    assert bad.returncode == 2 and "[max_errors] must be a number of documents or a percentage" in bad.stderr
