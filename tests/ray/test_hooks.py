"""The executor's hooks, without Ray: nothing imports Ray unless the executor is chosen, and the remote
services take their slots from a shared schedule once one is installed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ingest.executors.schedule import SharedSchedule
from ingest.models.services.remote.ratelimit import set_shared_limiter
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_imports_ray_unless_the_executor_is_chosen() -> None:
    code = (
        "import sys\n"
        "import ingest.cli.main, ingest.cli.jobs_cmd, ingest.jobs.runner, ingest.executors\n"
        "import ingest.executors.pool, ingest.executors.splits, ingest.executors.schedule\n"
        "import ingest.executors.commit, ingest.executors.owner, ingest.executors.inputs\n"
        "import ingest.executors.ray_job\n"
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_remote_requests_take_their_slots_from_the_installed_shared_schedule(ingest_home: Path) -> None:
    from ingest.models.api import InferenceAPI

    key = "sk-hook-test-0123456789"
    schedule = SharedSchedule()
    calls: list[tuple[str, int]] = []

    def reserve(group: str, rpm: int, max_wait_s: float) -> float | None:
        calls.append((group, rpm))
        return schedule.reserve(group, rpm, max_wait_s)

    with FakeServer(FakeOpenAI(key)) as server:
        api = InferenceAPI()
        api.put("hooked", {"service": "openai", "service_settings": {
            "api_key": key, "model_id": "text-embedding-3-small", "url": server.url + "/v1/embeddings",
            "rate_limit": {"requests_per_minute": 300}}}, task_type="text_embedding")
        set_shared_limiter(reserve)
        try:
            started = time.monotonic()
            for i in range(4):
                api.infer("hooked", [f"text {i}"])
        finally:
            set_shared_limiter(None)
            api.close()
        arrivals = sorted(r.received_at for r in server.requests if r.received_at >= started)
    assert len(calls) == 4 and {rpm for _, rpm in calls} == {300}
    group = calls[0][0]
    assert group.startswith("openai|") and key not in group  # the group key never carries the secret
    # 300 rpm: one slot every 0.2 s (the margin absorbs scheduling jitter on a loaded machine)
    assert np.diff(arrivals).min() >= 0.2 * 0.6
    assert arrivals[-1] - arrivals[0] >= 3 * 0.2 * 0.9


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest.cli.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_bad_input_fails_with_a_clear_error_before_any_ray_is_started(ingest_home: Path, tmp_path: Path) -> None:
    import json
    import os

    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:1"}  # nothing listens there: connecting would fail differently
    (tmp_path / "a.arrow").write_bytes(b"")
    proc = _cli("run", "--source", str(tmp_path / "a.arrow"), "--index", "x", "--executor", "ray", env=env)
    assert proc.returncode == 2
    error = json.loads(proc.stderr.strip().splitlines()[-1])["error"]
    assert error["type"] == "illegal_argument_exception"
    assert "format [arrow] is not supported by the ray executor" in error["reason"]

    proc = _cli("run", "--source", str(tmp_path / "a.arrow"), "--index", "x", "--executor", "spark", env=env)
    assert proc.returncode == 2 and "unknown executor [spark]: expected [local] or [ray]" in proc.stderr

    (tmp_path / "b.jsonl").write_text('{"t": 1}\n')
    proc = _cli("run", "--source", str(tmp_path / "b.jsonl"), "--index", "x", "--executor", "ray",
                "--concurrency", "3,1", env=env)
    assert proc.returncode == 2 and "[concurrency] must be a positive integer N or MIN,MAX" in proc.stderr
