"""`ingest dead-letter purge` (real CLI subprocesses): explicit filters, counts, nothing by accident."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.cli.deadletter_cmd import parse_before
from tests.jobs.helpers import ingest, write_jsonl


def _listed(env: dict[str, str], job: str | None = None) -> list[dict]:
    args = ["dead-letter", "list"] + (["--job-id", job] if job else [])
    return [json.loads(line) for line in ingest(*args, env=env).stdout.splitlines()]


def test_purge(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    failing = tmp_path / "fail.json"
    failing.write_text(json.dumps({"processors": [{"fail": {"message": "no"}}]}))
    for job, n in (("a", 4), ("b", 3)):
        source = write_jsonl(tmp_path / f"{job}.jsonl", [{"id": f"{job}{i}"} for i in range(n)])
        proc = ingest("run", "--source", str(source), "--index", "x", "--pipeline", str(failing), "--id-field", "id",
                      "--job-id", job, env=env)
        assert proc.returncode == 1, proc.stderr
    assert len(_listed(env)) == 7

    nothing = ingest("dead-letter", "purge", env=env)
    assert nothing.returncode == 2 and "--all" in nothing.stderr
    assert len(_listed(env)) == 7

    dry = ingest("dead-letter", "purge", "--job-id", "a", "--dry-run", env=env)
    assert json.loads(dry.stdout) == {"would_purge": 4} and len(_listed(env)) == 7

    seq = _listed(env, "b")[0]["seq"]
    one = ingest("dead-letter", "purge", str(seq), env=env)
    assert json.loads(one.stdout) == {"purged": 1}
    assert seq not in [e["seq"] for e in _listed(env)]

    recent = ingest("dead-letter", "purge", "--before", "1d", env=env)  # all are younger than a day
    assert json.loads(recent.stdout) == {"purged": 0}
    bad = ingest("dead-letter", "purge", "--before", "yesterday", env=env)
    assert bad.returncode == 2 and "cannot parse --before [yesterday]" in bad.stderr

    job_a = ingest("dead-letter", "purge", "--job-id", "a", env=env)
    assert json.loads(job_a.stdout) == {"purged": 4}
    assert [e["job_id"] for e in _listed(env)] == ["b", "b"]

    rest = ingest("dead-letter", "purge", "--all", env=env)
    assert json.loads(rest.stdout) == {"purged": 2} and _listed(env) == []


def test_parse_before() -> None:
    assert parse_before("2d", now=1_000_000.0) == 1_000_000.0 - 2 * 86400
    assert parse_before("2026-01-31") == parse_before("2026-01-31T00:00:00Z")
    assert parse_before("2026-01-31T02:00:00+02:00") == parse_before("2026-01-31T00:00:00Z")
