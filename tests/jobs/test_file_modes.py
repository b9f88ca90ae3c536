"""Issue 11, item 9: every file under ``$INGEST_HOME`` is 0600 and every folder 0700, whatever the umask.

A real job (``ingest run`` with a pipeline, the embedding cache, dead letters and checkpoints) and a real server
(``ingest serve`` taking a ``_bulk``) run as subprocesses under umask 022; then the whole home is walked.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.jobs.conftest import pipeline_body
from tests.servers import free_port


@pytest.fixture()
def cache_in_home(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The model cache under the home, so its files are checked too."""
    monkeypatch.setenv("INGEST_MODEL_CACHE", str(ingest_home / "models"))
    return ingest_home


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest.cli.main", *args], env=dict(os.environ), umask=0o022,
                          capture_output=True, text=True, timeout=300)


def _serve_and_bulk() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=dict(os.environ), umask=0o022,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        body = b'{"index": {"_index": "web", "_id": "1"}}\n{"text": "from the server"}\n'
        r = httpx.post(f"{url}/_bulk?refresh=true", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200 and not r.json()["errors"], r.text
        assert httpx.get(f"{url}/web/_doc/1").json()["found"] is True
    finally:
        proc.terminate()
        proc.wait(30)


def _loose(home: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(home):
        for name in dirs + files:
            path = Path(folder) / name
            mode = stat.S_IMODE(path.lstat().st_mode)
            want = 0o700 if path.is_dir() else 0o600
            if mode != want:
                found.append(f"{path.relative_to(home)} {oct(mode)}")
    return found


def test_a_home_after_a_job_and_a_server_is_private(cache_in_home: Path, tiny_endpoints: dict[str, str],
                                                    tmp_path: Path) -> None:
    home = cache_in_home
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(pipeline_body()))
    assert _cli("pipelines", "put", "tiny", str(pipeline)).returncode == 0
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(20))
                    + json.dumps({"other": "no text: dead-lettered"}) + "\n")
    run = _cli("run", "--source", str(docs), "--pipeline", "tiny", "--index", "docs")
    assert run.returncode != 0 or "failed" in run.stdout, run.stderr
    assert _cli("dead-letter", "list").stdout.strip()
    _serve_and_bulk()

    names = {p.name for p in home.rglob("*")}
    for expected in ("registry.sqlite", "registry.secrets.sqlite", "indices.duckdb", "deadletter.sqlite",
                     "embedding_cache.sqlite", "indices.sqlite", "jobs", "imported", "models"):
        assert expected in names, sorted(names)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert _loose(home) == []


def test_an_existing_loose_home_is_tightened(ingest_home: Path) -> None:
    """Homes created by earlier versions (0755, 0644 registry) are tightened when opened."""
    os.chmod(ingest_home, 0o755)
    from ingest.models.store import Store

    Store()
    (ingest_home / "registry.sqlite").chmod(0o644)
    Store()
    assert _loose(ingest_home) == [] and stat.S_IMODE(ingest_home.stat().st_mode) == 0o700
