"""Nothing lost, nothing duplicated: SIGKILL the job at many points, resume each time, check the index.

Each run is a real ``ingest run`` subprocess. ``INGEST_FAULT=point:n`` makes it SIGKILL itself the n-th time
it passes a named point (see ingest/jobs/faults.py); one more kill happens from outside at a measured moment
(once the first checkpoint is on disk).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.deadletter.store import DeadLetterStore
from ingest.jobs.checkpoint import Checkpoints
from ingest.sinks import open_sink
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import ROOT, docs, ingest, summary_of

N = 400
# Ordered so that each run still has work left when it reaches its point (the broken line is in batch 6).
KILLS = [
    ("read", 2),  # a batch read, not yet in the pipeline
    ("deadletter", 1),  # a failure recorded, its batch not yet acknowledged
    ("inference", 3),  # inside a model call
    ("pipeline", 2),  # a batch enriched, nothing written
    ("bulk", 3),  # a bulk written, its acknowledgement not processed
    ("acked", 2),  # everything up to a position acknowledged, checkpoint not yet committed
    ("checkpoint", 2),  # just after a checkpoint commit
]


def _args(src: Path, pipeline: Path) -> list[str]:
    return ["run", "--source", str(src), "--index", "crash", "--pipeline", str(pipeline), "--id-field", "doc_id",
            "--job-id", "crash", "--batch-size", "20", "--bulk-docs", "7", "--no-skip-unchanged"]


@pytest.mark.slow
def test_sigkill_at_every_point_then_resume_loses_and_duplicates_nothing(
    tiny_endpoints: dict[str, str], tmp_path: Path
) -> None:
    inputs = docs(N)
    lines = [json.dumps(d) for d in inputs]
    lines.insert(110, '{"doc_id": "broken", ')  # one unreadable line: exercises the dead-letter kill point
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(pipeline_body()), encoding="utf-8")
    args = _args(src, pipeline)

    resume: list[str] = []
    for point, nth in KILLS:
        proc = ingest(*args, *resume, env={"INGEST_FAULT": f"{point}:{nth}"})
        assert proc.returncode == -signal.SIGKILL, f"{point}: rc={proc.returncode}\n{proc.stderr[-2000:]}"
        resume = ["--resume"]
    _kill_at_measured_moment([*args, "--resume"])

    final = ingest(*args, "--resume")
    assert final.returncode == 1, final.stderr[-2000:]  # 1: the broken line is in the dead-letter store
    summary = summary_of(final)
    assert summary["completed"] and summary["read"] == N + 1
    assert summary["indexed"] == N and summary["failed"] == 1

    store = open_sink("embedded")
    try:
        assert store.count("crash") == N  # type: ignore[attr-defined]
        for d in inputs:
            got = store.get("crash", d["doc_id"])  # type: ignore[attr-defined]
            assert got is not None, d["doc_id"]
            assert got["text"] == d["text"] and got["source"] == "jobs-test"
            assert len(got["vec"]) == 32 and isinstance(got["tokens"], dict) and got["tokens"]
    finally:
        store.close()
    letters = DeadLetterStore().entries("crash")
    assert len(letters) == 1 and letters[0].stage == "read" and "broken" in letters[0].content


def _kill_at_measured_moment(args: list[str]) -> None:
    """Start a run and SIGKILL it from outside as soon as it has committed a new checkpoint."""
    checkpoints = Checkpoints("crash")
    before = (checkpoints.load() or {}).get("updated")
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            state = checkpoints.load() or {}
            if state.get("updated") != before:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the job finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
