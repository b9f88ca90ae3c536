"""The job runner end to end on real files and the embedded DuckDB store (no pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.deadletter.store import DeadLetterStore
from ingest.jobs import JobConfig, run_job
from ingest.jobs.checkpoint import Checkpoints
from ingest.sinks import open_sink
from tests.jobs.helpers import docs, ingest, summary_of, write_jsonl


def _ids(index: str) -> list[str]:
    store = open_sink("embedded")
    try:
        n = store.count(index)  # type: ignore[attr-defined]
        return sorted(str(h["_id"]) for h in _all(store, index, n))
    finally:
        store.close()


def _all(store: object, index: str, n: int) -> list[dict]:
    got = []
    for i in range(n + 5):
        doc = store.get(index, f"d{i}")  # type: ignore[attr-defined]
        if doc is not None:
            got.append({"_id": f"d{i}", **doc})
    return got


def test_run_indexes_every_document_once_and_rerun_does_not_duplicate(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(250))
    config = JobConfig(source=str(src), index="plain", id_field="doc_id", bulk_docs=40,
                       source_options={"batch_size": 60})
    first = run_job(config)
    assert (first.read, first.indexed, first.failed, first.completed) == (250, 250, 0, True)
    store = open_sink("embedded")
    assert store.count("plain") == 250  # type: ignore[attr-defined]
    assert store.get("plain", "d17") == {"doc_id": "d17", "text": "hello world 17", "n": 17}  # type: ignore[attr-defined]
    store.close()
    second = run_job(config)
    assert second.indexed == 250
    store = open_sink("embedded")
    assert store.count("plain") == 250  # type: ignore[attr-defined]
    store.close()
    state = Checkpoints(config.resolved_job_id()).require()
    assert state["status"] == "completed" and state["totals"]["indexed"] == 250


def test_content_hash_ids_are_deterministic(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(30))
    config = JobConfig(source=str(src), index="hashed")
    run_job(config)
    run_job(JobConfig(source=str(src), index="hashed", job_id="other"))
    store = open_sink("embedded")
    assert store.count("hashed") == 30  # type: ignore[attr-defined]
    store.close()


def test_resume_of_a_completed_job_reads_nothing_more(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(40))
    config = JobConfig(source=str(src), index="r", id_field="doc_id", source_options={"batch_size": 10})
    run_job(config)
    config.resume = True
    again = run_job(config)
    assert again.read == 40 and again.indexed == 40  # totals carried over, nothing re-read
    assert again.cache_misses == 0


def test_bad_input_goes_to_the_dead_letter_store_and_the_rest_proceeds(ingest_home: Path, tmp_path: Path) -> None:
    good = docs(20)
    big = {"doc_id": "big", "text": "x" * (10 * 1024 * 1024 + 10)}
    lines = [json.dumps(d).encode() for d in good[:10]]
    lines += [b'{"doc_id": "broken", "text": ', b'{"doc_id": "bad-utf8", "text": "caf\xe9"}',
              json.dumps({"text": "no id"}).encode(), json.dumps(big).encode(),
              json.dumps({"doc_id": "wrong-type", "text": "t", "n": "not a number"}).encode()]
    lines += [json.dumps(d).encode() for d in good[10:]]
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    proc = ingest("run", "--source", str(src), "--index", "mixed", "--id-field", "doc_id", "--job-id", "bad")
    assert proc.returncode == 1, proc.stderr
    summary = summary_of(proc)
    assert summary["indexed"] == 20 and summary["failed"] == 5
    # Not a terminal: progress and the summary are JSON log lines on stderr.
    logged = [json.loads(ln) for ln in proc.stderr.splitlines() if ln.startswith("{")]
    assert logged[-1]["event"] == "summary" and logged[-1]["failed"] == 5
    assert "ingest dead-letter list --job-id bad" in proc.stderr
    letters = DeadLetterStore().entries("bad")
    by_reason = {(e.stage, e.error_type): e for e in letters}
    assert len(letters) == 5
    read_errors = [e for e in letters if e.stage == "read"]
    assert len(read_errors) == 2 and all(e.reason for e in read_errors)
    assert any("caf" in e.content for e in read_errors)
    # "not a number" in a field the index mapped as long: rejected by the mapping, as Elasticsearch does
    (wrong,) = [e for e in letters if "wrong-type" in e.content]
    assert (wrong.stage, wrong.error_type) == ("write", "document_parsing_exception")
    assert "failed to parse field [n] of type [long]" in wrong.reason
    missing = [e for e in letters if "doc_id" in e.reason]
    assert len(missing) == 1 and json.loads(missing[0].content) == {"text": "no id"}
    too_big = [e for e in letters if "exceeds the bulk request size" in e.reason]
    assert len(too_big) == 1 and too_big[0].stage == "write" and too_big[0].doc_id == "big"
    assert ("read", "parsing_exception") in by_reason
    listed = ingest("dead-letter", "list", "--job-id", "bad")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 5
    assert sorted(_ids("mixed")) == sorted(d["doc_id"] for d in good)


def test_replay_sends_fixed_documents_again(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [*docs(5), {"text": "no id"}])
    proc = ingest("run", "--source", str(src), "--index", "rp", "--id-field", "doc_id", "--job-id", "rp")
    assert proc.returncode == 1
    # Replaying into an index with content-hash ids succeeds: the document itself was fine.
    replayed = ingest("dead-letter", "replay", "--job-id", "rp", "--index", "rp2")
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["replayed"] == 1 and report["indexed"] == 1
    assert DeadLetterStore().count("rp") == 0
    store = open_sink("embedded")
    assert store.count("rp2") == 1  # type: ignore[attr-defined]
    store.close()


@pytest.mark.parametrize("dest", ["nowhere", "ftp://x"])
def test_unknown_destination_is_a_clear_error(ingest_home: Path, tmp_path: Path, dest: str) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(3))
    proc = ingest("run", "--source", str(src), "--index", "x", "--dest", dest)
    assert proc.returncode == 2
    err = json.loads(proc.stderr.strip().splitlines()[-1])
    assert err["error"]["type"] == "illegal_argument_exception" and dest in err["error"]["reason"]


def test_content_hash_does_not_depend_on_batching() -> None:
    import pyarrow as pa

    from ingest.jobs.documents import content_ids, to_rows

    alone = to_rows(pa.RecordBatch.from_pylist([{"a": 1, "t": "x"}]))
    schema = pa.schema([("a", pa.float64()), ("t", pa.string()), ("extra", pa.bool_())])
    mixed = to_rows(pa.RecordBatch.from_pylist([{"a": 1.5, "t": "y", "extra": True}, {"a": 1, "t": "x"}], schema=schema))
    assert mixed[1] == {"a": 1.0, "t": "x", "extra": None}  # Arrow changed the row: a null column, a float
    assert content_ids(alone) == content_ids(mixed[1:])


def test_batch_content_ids_are_the_row_by_row_ids() -> None:
    import datetime as dt
    import math

    import pyarrow as pa

    from ingest.jobs.documents import batch_content_ids, content_ids, to_rows

    flat = pa.RecordBatch.from_pylist([
        {"a": 1.0, "t": "x", "n": None, "b": True, "i": 3}, {"a": 2.5, "t": None, "n": 7.0, "b": None, "i": None},
        {"a": math.nan, "t": "\u00e9\"", "n": math.inf, "b": False, "i": -1},
    ])
    stamps = pa.RecordBatch.from_pylist([{"when": dt.datetime(2024, 1, 2, 3, 4, 5), "raw": b"\x00"}])
    nested = pa.RecordBatch.from_pylist([{"o": {"x": 1.0, "y": None}, "l": [1.0, 2.5]}, {"o": None, "l": None}])
    for batch in (flat, stamps, nested):
        assert batch_content_ids(batch) == content_ids(to_rows(batch))
    assert batch_content_ids(flat)[0] == content_ids([{"a": 1, "t": "x", "b": True, "i": 3}])[0]


def test_stdin_stream_is_indexed_while_it_is_still_open(ingest_home: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.jobs.helpers import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "run", "--source", "-", "--index", "stream", "--id-field", "doc_id",
         "--job-id", "stream"],
        cwd=ROOT, env=dict(os.environ), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        for d in docs(5):
            proc.stdin.write((json.dumps(d) + "\n").encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        indexed = 0
        while time.monotonic() < deadline and indexed < 5:
            indexed = ((Checkpoints("stream").load() or {}).get("totals") or {}).get("indexed", 0)
            time.sleep(0.05)
        assert indexed == 5, "documents were not acknowledged while the stream stayed open"
        for d in docs(5, start=5):
            proc.stdin.write((json.dumps(d) + "\n").encode())
        proc.stdin.close()
        proc.stdin = None  # communicate() must not flush the closed pipe
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out.decode().splitlines()[-1])["indexed"] == 10
    assert _ids("stream") == sorted(f"d{i}" for i in range(10))


def test_job_errors_are_elasticsearch_shaped_and_exit_2(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(3))
    missing = ingest("run", "--source", str(src), "--index", "x", "--pipeline", "nope")
    assert missing.returncode == 2
    assert json.loads(missing.stderr.splitlines()[-1])["error"]["reason"] == "pipeline with id [nope] does not exist"
    assert ingest("run", "--source", str(src), "--index", "x", "--job-id", "j").returncode == 0
    other = write_jsonl(tmp_path / "other.jsonl", docs(3))
    mismatch = ingest("run", "--source", str(other), "--index", "x", "--job-id", "j", "--resume")
    assert mismatch.returncode == 2 and "was started with source" in mismatch.stderr
