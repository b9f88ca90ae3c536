"""``ingest run --source kafka://…`` while the home's server runs: the server's consumer is the job's (issue 14).
A real broker, a real server and the CLI as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Server
from tests.jobs.helpers import ingest
from tests.kafka.broker import committed, end_offsets, json_values, new_topic, produce, start_ingest

pytestmark = [pytest.mark.timeout(600)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    server = Server(home, tmp_path / "serve.log")
    yield server
    server.stop()


def _ids(server: Server, index: str) -> list[str]:
    body = server.get(f"/{index}/_search?size=10000&_source=false")
    return sorted(hit["_id"] for hit in body["hits"]["hits"])


def test_a_kafka_job_runs_in_the_server_and_commits_what_it_wrote(
        kafka_bootstrap: str, served: Server, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(1500))
    secret = "s3cret-kafka-4410"  # a SASL password (unused by the PLAINTEXT test broker): never echoed
    url = f"kafka://{kafka_bootstrap}/{topic}?group=gs&batch_size=100&sasl.password={secret}"
    env = {"INGEST_HOME": str(served.home)}
    proc = ingest("run", "--source", url, "--index", "events", "--until-caught-up", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["completed"] and summary["read"] == summary["indexed"] == 1500
    ends = end_offsets(kafka_bootstrap, topic)
    assert committed(kafka_bootstrap, "gs", topic) == ends
    assert _ids(served, "events") == sorted(f"{topic}-{p}-{o}" for p, n in ends.items() for o in range(n))
    log = (tmp_path / "serve.log").read_text()
    assert "POST /_ingest_local/job" in log and "/_ingest_local/arrow_bulk" not in log  # the server's consumer
    for text in (log, proc.stdout, proc.stderr, *(p.read_text(errors="replace") for p in (served.home / "logs").glob("*"))):
        assert secret not in text


def test_sigterm_of_the_cli_drains_the_servers_consumer_and_sigkill_cancels_it(
        kafka_bootstrap: str, served: Server, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(3000))
    url = f"kafka://{kafka_bootstrap}/{topic}?group=gt&batch_size=20"
    args = ["run", "--source", url, "--index", "stream", "--bulk-docs", "10", "--job-id", "kt"]
    env = {**os.environ, "INGEST_HOME": str(served.home)}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = start_ingest(*args, env=env, log=tmp_path / "run.log")
        try:
            deadline = time.monotonic() + 120
            before = sum(max(0, o) for o in committed(kafka_bootstrap, "gt", topic).values())
            while sum(max(0, o) for o in committed(kafka_bootstrap, "gt", topic).values()) <= before:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
                time.sleep(0.2)
            proc.send_signal(sig)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if sig == signal.SIGTERM:  # drained, committed, ended as a job alone: exit 0
            assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
            assert json.loads(out.splitlines()[-1])["completed"] is True
        else:
            assert proc.returncode == -signal.SIGKILL
            time.sleep(3)  # the server sees the connection gone and cancels the job
        at_stop = {p: max(0, o) for p, o in committed(kafka_bootstrap, "gt", topic).items()}  # -1001: none yet
        assert sum(at_stop.values()) < 3000, "the stop came after the end: the test proved nothing"
        stored = set(_ids(served, "stream"))
        # everything committed is stored (after SIGKILL, written batches may be ahead of the commits: read again)
        assert {f"{topic}-{p}-{o}" for p, n in at_stop.items() for o in range(n)} <= stored
        if sig == signal.SIGTERM:
            assert len(stored) == sum(at_stop.values())  # nothing in flight was left behind
    again = ingest(*args, "--until-caught-up", env={"INGEST_HOME": str(served.home)}, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    ends = end_offsets(kafka_bootstrap, topic)
    assert committed(kafka_bootstrap, "gt", topic) == ends
    assert _ids(served, "stream") == sorted(f"{topic}-{p}-{o}" for p, n in ends.items() for o in range(n))
