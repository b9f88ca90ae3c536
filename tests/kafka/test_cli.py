"""``ingest run`` refuses what cannot work with a Kafka source, as a real subprocess, before any connection."""

from __future__ import annotations

import json
from pathlib import Path

from tests.jobs.helpers import ingest


def _error(proc) -> dict:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    return dict(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_until_caught_up_needs_a_kafka_source(ingest_home: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"a": 1}\n')
    body = _error(ingest("run", "--source", str(src), "--index", "x", "--until-caught-up"))
    assert body["status"] == 400 and "--until-caught-up applies to kafka:// sources only" in body["error"]["reason"]


def test_kafka_members_on_ray_need_a_cluster_destination(ingest_home: Path) -> None:
    body = _error(ingest("run", "--source", "kafka://127.0.0.1:1/t?group=g", "--index", "x", "--executor", "ray"))
    assert "need a --dest that many processes may write (cluster)" in body["error"]["reason"]
    assert body["status"] == 400 and "[embedded] destination has one writing process" in body["error"]["reason"]
    body = _error(ingest("run", "--source", "kafka://127.0.0.1:1/t?group=g", "--index", "x", "--executor", "ray",
                         "--dest", "http://127.0.0.1:1", "--concurrency", "1,4"))
    assert "a number of members" in body["error"]["reason"]


def test_auto_commit_is_refused_and_secrets_are_not_echoed(ingest_home: Path) -> None:
    body = _error(ingest("run", "--source", "kafka://127.0.0.1:1/t?sasl.password=s3cret&enable.auto.commit=true",
                         "--index", "x"))
    assert "[enable.auto.commit] cannot be set" in body["error"]["reason"]
    assert body["error"]["type"] == "illegal_argument_exception"
    body = _error(ingest("run", "--source", "kafka://127.0.0.1:1/t?sasl.password=s3cret&colour=1", "--index", "x"))
    assert "colour" in body["error"]["reason"] and "s3cret" not in json.dumps(body)
