"""``ingest run --source kafka://…`` against a real broker into the embedded store, as real subprocesses.

Every message indexed once (ids ``topic-partition-offset``), poison messages dead-lettered with where they were
and replayable, committed offsets equal to the end offsets after ``--until-caught-up``, SIGTERM drains and
exits 0, and SIGKILL at every named point followed by a restart loses and duplicates nothing.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from ingest.deadletter.store import DeadLetterStore
from ingest.sinks import open_sink
from tests.jobs.helpers import ingest, summary_of
from tests.kafka.broker import (
    committed,
    end_offsets,
    json_values,
    new_topic,
    produce,
    start_ingest,
    wait_committed,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

PIPELINE = {"processors": [
    {"set": {"field": "origin", "value": "{{_ingest.kafka.topic}}/{{_ingest.kafka.partition}}@{{_ingest.kafka.offset}}"}},
    {"set": {"field": "header", "value": "{{_ingest.kafka.headers.source}}"}},
    {"fail": {"if": "ctx.poison == true", "message": "poison document"}},
    {"uppercase": {"field": "text"}},
]}


def _pipeline(tmp_path: Path, body: dict = PIPELINE) -> str:
    path = tmp_path / f"pipeline-{len(body['processors'])}.json"
    path.write_text(json.dumps(body))
    return str(path)


def _stored(index: str) -> dict[str, dict]:
    store = open_sink("embedded")
    try:
        ids = [r[0] for r in store.con.execute(f'SELECT _id FROM "{index}"').fetchall()]  # type: ignore[attr-defined]
        return {i: store.get(index, i) for i in ids}  # type: ignore[attr-defined]
    finally:
        store.close()


def test_until_caught_up_indexes_each_message_once_dead_letters_poison_and_commits_the_end(
        kafka_bootstrap: str, ingest_home: Path, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    good = produce(kafka_bootstrap, topic, json_values(300))
    bad_json, same_again = produce(kafka_bootstrap, topic, [(0, b'{"n": "broken'), (0, b'{"n": "broken')])
    tombstone = produce(kafka_bootstrap, topic, [(1, None)])[0]
    poison = produce(kafka_bootstrap, topic, [(2, json.dumps({"n": -1, "poison": True, "text": "p"}).encode())])[0]
    url = f"kafka://{kafka_bootstrap}/{topic}?group=g1&batch_size=40"

    proc = ingest("run", "--source", url, "--index", "events", "--pipeline", _pipeline(tmp_path),
                  "--job-id", "k1", "--until-caught-up", timeout=180)
    assert proc.returncode == 1, proc.stderr[-3000:]  # 1: some messages are in the dead-letter store
    summary = summary_of(proc)
    assert summary["completed"] and (summary["read"], summary["indexed"], summary["failed"]) == (304, 300, 4)
    ends = end_offsets(kafka_bootstrap, topic)
    assert committed(kafka_bootstrap, "g1", topic) == ends

    # The summary carries the source's final offsets and lag per partition, and the job's ingest stats in
    # GET /_nodes/stats/ingest's shape (the unparsable and the tombstone never reached the pipeline).
    source = summary["source"]
    assert source["lag"] == 0 and source["in_flight_batches"] == 0
    assert source["assigned"] == [f"{topic}:{p}" for p in range(3)] and source["partitions"] == []  # it left
    assert source["lag_per_partition"] == {f"{topic}:{p}": 0 for p in range(3)}
    assert source["offsets"] == {f"{topic}:{p}": {"read": ends[p], "committed": ends[p], "high_watermark": ends[p],
                                                  "lag": 0} for p in range(3)}
    stats = summary["ingest"]
    pipeline = stats["pipelines"][_pipeline(tmp_path)]
    assert (pipeline["count"], pipeline["failed"], pipeline["current"]) == (301, 1, 0)
    assert stats["total"]["count"] == 301 and pipeline["time_in_millis"] >= 0 and pipeline["processors"] == []

    docs = _stored("events")
    assert sorted(docs) == sorted(f"{topic}-{p}-{o}" for p, o in good)
    for doc_id, doc in docs.items():
        _, p, o = doc_id.rsplit("-", 2)
        assert doc["origin"] == f"{topic}/{p}@{o}" and doc["header"] == "test"
        assert doc["text"].startswith("MESSAGE ") and "_ingest" not in doc

    letters = {(lt.stage, lt.reason.split(":")[0]): lt for lt in DeadLetterStore().entries("k1")}
    assert len(letters) == 4  # two identical poison messages are two letters, each with its offset
    assert letters[("read", f"{topic}/0/{bad_json[1]}")].content == '{"n": "broken'
    assert letters[("read", f"{topic}/0/{same_again[1]}")].content == '{"n": "broken'
    assert "tombstone" in letters[("read", f"{topic}/1/{tombstone[1]}")].reason
    failed = next(lt for lt in letters.values() if lt.stage == "pipeline")
    assert failed.doc_id == f"{topic}-2-{poison[1]}" and "poison document" in failed.reason
    assert json.loads(failed.content)["_ingest"]["kafka"] == {
        "topic": topic, "partition": 2, "offset": poison[1], "timestamp": json.loads(failed.content)["_ingest"]["kafka"]["timestamp"],
        "key": "k2", "headers": {"source": "test"}}

    # The pipeline failure is replayable (its Kafka metadata comes along); the unparsable ones stay listed.
    fixed = {"processors": [p for p in PIPELINE["processors"] if "fail" not in p]}
    replay = ingest("dead-letter", "replay", "--job-id", "k1", "--pipeline", _pipeline(tmp_path, fixed))
    report = json.loads(replay.stdout.splitlines()[-1])
    assert (report["replayed"], report["indexed"], report["unreadable"]) == (1, 1, 3), replay.stderr[-2000:]
    replayed = _stored("events")[f"{topic}-2-{poison[1]}"]
    assert replayed["origin"] == f"{topic}/2@{poison[1]}" and replayed["text"] == "P"
    assert {lt.stage for lt in DeadLetterStore().entries("k1")} == {"read"}


def test_sigterm_drains_commits_and_exits_0_then_a_restart_finishes(
        kafka_bootstrap: str, ingest_home: Path, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(2000))
    url = f"kafka://{kafka_bootstrap}/{topic}?group=g2&batch_size=20"
    args = ["run", "--source", url, "--index", "stream", "--bulk-docs", "10", "--job-id", "k2"]
    proc = start_ingest(*args, log=tmp_path / "run.log")
    try:
        deadline = time.monotonic() + 60
        while sum(max(0, o) for o in committed(kafka_bootstrap, "g2", topic).values()) == 0:
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert json.loads(out.splitlines()[-1])["completed"] is True
    # What was committed at the stop is exactly what is stored: nothing in flight was left behind.
    at_stop = committed(kafka_bootstrap, "g2", topic)
    assert sum(at_stop.values()) < 2000, "the stop came after the end: the test proved nothing"
    assert sorted(_stored("stream")) == sorted(f"{topic}-{p}-{o}" for p, n in at_stop.items() for o in range(n))

    again = ingest(*args, "--until-caught-up", timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    ends = end_offsets(kafka_bootstrap, topic)
    assert committed(kafka_bootstrap, "g2", topic) == ends
    assert sorted(_stored("stream")) == sorted(f"{topic}-{p}-{o}" for p, n in ends.items() for o in range(n))


# Each run is killed the n-th time it passes the point; the next run resumes from the group's commits.
KILLS = [
    ("deadletter", 1),  # a poison message recorded, its batch not yet acknowledged
    ("read", 2),  # a batch read, not yet in the pipeline
    ("pipeline", 2),  # a batch through the pipeline, nothing written
    ("bulk", 3),  # a bulk written, its acknowledgement not processed
    ("acked", 2),  # everything up to a position acknowledged, checkpoint not yet written
    ("checkpoint", 2),  # the job's checkpoint written, offsets not yet committed to Kafka
    ("offsets", 2),  # offsets just committed to Kafka
]


def test_sigkill_at_every_point_then_restart_loses_and_duplicates_nothing(
        kafka_bootstrap: str, ingest_home: Path, tmp_path: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    values = json_values(600)
    values.insert(3, (0, b"not json"))
    landed = produce(kafka_bootstrap, topic, values)
    good = [lo for lo, (_, v) in zip(landed, values, strict=True) if v != b"not json"]
    url = f"kafka://{kafka_bootstrap}/{topic}?group=g3&batch_size=25&max_in_flight=2"
    args = ["run", "--source", url, "--index", "crash", "--pipeline", _pipeline(tmp_path), "--bulk-docs", "10",
            "--job-id", "k3"]
    progress = []
    for point, nth in KILLS:
        proc = ingest(*args, "--until-caught-up", env={"INGEST_FAULT": f"{point}:{nth}"}, timeout=180)
        assert proc.returncode == -signal.SIGKILL, f"{point}: rc={proc.returncode}\n{proc.stderr[-2000:]}"
        progress.append(sum(max(0, o) for o in committed(kafka_bootstrap, "g3", topic).values()))
    assert progress[-1] > 0 and progress[-1] < 601, progress

    final = ingest(*args, "--until-caught-up", timeout=180)
    # 1 when this run met the poison message again, 0 when an earlier run had committed past it.
    assert final.returncode in (0, 1), final.stderr[-3000:]
    assert committed(kafka_bootstrap, "g3", topic) == end_offsets(kafka_bootstrap, topic)
    docs = _stored("crash")
    assert sorted(docs) == sorted(f"{topic}-{p}-{o}" for p, o in good)
    assert all(d["origin"] == f"{topic}/{i.rsplit('-', 2)[1]}@{i.rsplit('-', 2)[2]}" for i, d in docs.items())
    letters = DeadLetterStore().entries("k3")
    assert len(letters) == 1 and letters[0].content == "not json"
    wait_committed(kafka_bootstrap, "g3", topic, end_offsets(kafka_bootstrap, topic), timeout=5)


def test_a_rerun_with_nothing_new_reports_every_partition_caught_up(kafka_bootstrap: str, ingest_home: Path) -> None:
    # The second run fetches nothing, so librdkafka has no cached high watermark: the final lag asks the broker.
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(30))
    every = {f"{topic}:{p}" for p in range(3)}
    for _ in range(2):
        proc = ingest("run", "--source", f"kafka://{kafka_bootstrap}/{topic}?group=g6", "--index", topic,
                      "--until-caught-up", timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        final = summary_of(proc)["source"]
        assert final["lag"] == 0 and final["lag_per_partition"] == dict.fromkeys(every, 0), final
        assert {n: o["committed"] for n, o in final["offsets"].items()} == dict.fromkeys(every, 10), final


def test_until_caught_up_on_a_missing_topic_fails_clearly(kafka_bootstrap: str, ingest_home: Path) -> None:
    proc = ingest("run", "--source", f"kafka://{kafka_bootstrap}/no-such-topic?group=g4", "--index", "x",
                  "--until-caught-up", timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    body = json.loads(proc.stderr.strip().splitlines()[-1])
    assert body["status"] == 404 and "kafka topic [no-such-topic] does not exist" in body["error"]["reason"]


def test_secrets_in_the_url_never_reach_the_checkpoint(kafka_bootstrap: str, ingest_home: Path) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(3))
    # A PLAINTEXT listener ignores SASL credentials given without security.protocol: the run itself succeeds.
    proc = ingest("run", "--source", f"kafka://{kafka_bootstrap}/{topic}?group=g5&sasl.password=s3cret",
                  "--index", "secret", "--job-id", "k5", "--until-caught-up", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    checkpoint = (ingest_home / "jobs" / "k5.json").read_text()
    assert "s3cret" not in checkpoint and "sasl.password=::redacted" in checkpoint
    assert "s3cret" not in proc.stdout + proc.stderr
