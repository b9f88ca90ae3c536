"""Kafka into OpenSearch and Elasticsearch: a SIGKILL then a restart, and a two-member consumer group whose
members join at once and one is SIGKILLed mid-run — every message ends in the index exactly once."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.jobs.helpers import ingest
from tests.kafka.broker import (
    cluster_ids,
    committed,
    end_offsets,
    json_values,
    new_topic,
    produce,
    start_ingest,
    wait_committed,
)
from tests.kafka.test_broker import _pipeline

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _progress(log: Path) -> list[dict]:
    """The ``source`` part of each progress line a member logged so far."""
    return [json.loads(line)["source"] for line in log.read_text().splitlines() if '"event": "progress"' in line]


def _owned(log: Path) -> list[int]:
    return [len(p["partitions"]) for p in _progress(log)]


@pytest.mark.parametrize("fixture", ["opensearch_url", "elasticsearch_url"])
def test_sigkill_mid_bulk_then_restart_into_a_cluster(
        request: pytest.FixtureRequest, fixture: str, kafka_bootstrap: str, ingest_home: Path, tmp_path: Path) -> None:
    url = request.getfixturevalue(fixture)
    topic = new_topic(kafka_bootstrap)
    landed = produce(kafka_bootstrap, topic, json_values(500))
    source = f"kafka://{kafka_bootstrap}/{topic}?group=c1&batch_size=25&max_in_flight=2"
    args = ["run", "--source", source, "--index", topic, "--dest", url, "--pipeline", _pipeline(tmp_path),
            "--bulk-docs", "10", "--job-id", "c1", "--until-caught-up"]
    killed = ingest(*args, env={"INGEST_FAULT": "bulk:6"}, timeout=180)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert 0 < sum(max(0, o) for o in committed(kafka_bootstrap, "c1", topic).values()) < 500
    final = ingest(*args, timeout=240)
    assert final.returncode == 0, final.stderr[-3000:]
    assert committed(kafka_bootstrap, "c1", topic) == end_offsets(kafka_bootstrap, topic)
    ids = cluster_ids(url, topic)
    assert len(ids) == len(set(ids)) == 500
    assert sorted(ids) == sorted(f"{topic}-{p}-{o}" for p, o in landed)


def test_two_members_one_killed_mid_run_nothing_lost_or_duplicated(
        opensearch_url: str, kafka_bootstrap: str, ingest_home: Path, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    # half now, half once both members share the partitions: on a quiet machine the first member could otherwise
    # consume all 6,000 before the second has started, leaving nothing in flight to kill
    landed = produce(kafka_bootstrap, topic, json_values(3000))
    source = (f"kafka://{kafka_bootstrap}/{topic}?group=c2&batch_size=20&max_in_flight=2"
              "&session.timeout.ms=6000&heartbeat.interval.ms=1000")
    args = ["run", "--source", source, "--index", topic, "--dest", opensearch_url, "--pipeline", _pipeline(tmp_path),
            "--bulk-docs", "10", "--job-id", "c2"]
    doomed = start_ingest(*args, log=tmp_path / "a.log")
    time.sleep(1.0)  # the second member joins while the first is consuming: a rebalance with drain
    survivor = start_ingest(*args, log=tmp_path / "b.log")
    try:
        deadline = time.monotonic() + 120
        while not any(0 < n < 3 for n in _owned(tmp_path / "b.log")):  # the two share the partitions
            assert time.monotonic() < deadline and doomed.poll() is None, (tmp_path / "a.log").read_text()[-2000:]
            time.sleep(0.3)
        landed += produce(kafka_bootstrap, topic, json_values(3000, start=3000))
        doomed.send_signal(signal.SIGKILL)  # mid-run: its uncommitted batches go to the survivor
        assert doomed.wait(timeout=30) == -signal.SIGKILL
        at_kill = committed(kafka_bootstrap, "c2", topic)
        assert sum(max(0, o) for o in at_kill.values()) < 6000, "nothing was left when the member died"
        wait_committed(kafka_bootstrap, "c2", topic, end_offsets(kafka_bootstrap, topic), timeout=240)
        # Progress lines come every 2 s: wait for one written after the takeover before stopping the survivor.
        deadline = time.monotonic() + 60
        while _owned(tmp_path / "b.log")[-1:] != [3] and time.monotonic() < deadline:
            time.sleep(0.3)
        survivor.send_signal(signal.SIGTERM)
        out, _ = survivor.communicate(timeout=60)
    finally:
        for proc in (doomed, survivor):
            if proc.poll() is None:
                proc.kill()
    assert survivor.returncode == 0, (tmp_path / "b.log").read_text()[-3000:]
    assert json.loads(out.splitlines()[-1])["completed"] is True
    progress = _progress(tmp_path / "b.log")
    owned = [len(p["partitions"]) for p in progress]
    assert owned[-1] == 3, owned  # it took the dead member's partitions over
    # The progress line carries the lag per owned partition (librdkafka's statistics). Whether a line catches a
    # moment with messages waiting depends on timing (the member may keep up between two lines), so the shape is
    # checked on every line and the exact figures on the final summary below.
    parts = {f"{topic}:{n}" for n in range(3)}
    assert progress and all(isinstance(p["lag"], int) and p["lag"] >= 0 and set(p["lag_per_partition"]) <= parts
                            and sum(p["lag_per_partition"].values()) == p["lag"] for p in progress), progress
    # ... and its offsets per partition (messages read so far, committed, high watermark); the final summary
    # the same at the end: everything committed, no lag left.
    assert any(p["offsets"] and all(o["read"] > 0 for o in p["offsets"].values()) for p in progress), progress
    final = json.loads(out.splitlines()[-1])["source"]
    ends = end_offsets(kafka_bootstrap, topic)
    assert {n: o["committed"] for n, o in final["offsets"].items()} == {f"{topic}:{p}": e for p, e in ends.items()}
    assert final["lag"] == 0 and final["lag_per_partition"] == {f"{topic}:{p}": 0 for p in range(3)}
    ids = cluster_ids(opensearch_url, topic)
    assert len(ids) == len(set(ids)) == 6000
    assert sorted(ids) == sorted(f"{topic}-{p}-{o}" for p, o in landed)
