"""Commands that load a model exit cleanly: status 0 and no "terminate called" abort at interpreter exit.

The abort (exit 134, SIGABRT) came from a deployment thread still inside ONNX Runtime (loading a second
session) when Python finalised: the thread was killed by ``pthread_exit`` while unwinding through C++ frames.
It only shows in a real process, so these tests run the CLI as subprocesses, many times each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.helpers import ingest, summary_of, write_jsonl

pytestmark = [pytest.mark.realmodel, pytest.mark.slow, pytest.mark.timeout(1800)]  # dozens of model loads

E5 = ".multilingual-e5-small-elasticsearch"


def _assert_clean(proc: object, what: str) -> None:
    rc, err = proc.returncode, proc.stderr  # type: ignore[attr-defined]
    assert "terminate called" not in err, f"{what}: aborted at exit\n{err}"
    assert rc == 0, f"{what}: exit {rc}\nstderr={err}"


def _e5_pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "e5.json"
    path.write_text(json.dumps({"processors": [{"inference": {
        "model_id": E5, "input_output": [{"input_field": "text", "output_field": "text_e5"}]}}]}))
    return path


def test_run_and_search_with_e5_exit_cleanly(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    pipeline = _e5_pipeline(tmp_path)
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": f"passage number {i}"} for i in range(3)])
    for i in range(6):
        proc = ingest("run", "--source", str(docs), "--index", "docs", "--pipeline", str(pipeline),
                      "--id-field", "id", "--no-skip-unchanged", env=env)
        _assert_clean(proc, f"run #{i}")
        assert summary_of(proc)["indexed"] == 3
    for i in range(20):
        proc = ingest("search", "docs", "passage number 1", "-k", "1", env=env)
        _assert_clean(proc, f"search #{i}")
        assert json.loads(proc.stdout)["hits"]["hits"][0]["_id"] == "d1"


def test_infer_and_dead_letter_replay_exit_cleanly(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    for i in range(5):
        proc = ingest("infer", ".multilingual-e5-small", "hello", env=env)
        _assert_clean(proc, f"infer #{i}")
        assert len(json.loads(proc.stdout)["text_embedding"][0]["embedding"]) == 384
    failing = tmp_path / "fail.json"
    failing.write_text(json.dumps({"processors": [{"fail": {"message": "not yet"}}]}))
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d1", "text": "a passage"}])
    pipeline = _e5_pipeline(tmp_path)
    for i in range(3):
        proc = ingest("run", "--source", str(docs), "--index", "docs", "--pipeline", str(failing),
                      "--id-field", "id", "--job-id", f"job{i}", env=env)
        assert proc.returncode == 1, proc.stderr  # the document is dead-lettered
        proc = ingest("dead-letter", "replay", "--job-id", f"job{i}", "--pipeline", str(pipeline), env=env)
        _assert_clean(proc, f"replay #{i}")
        assert json.loads(proc.stdout)["indexed"] == 1
