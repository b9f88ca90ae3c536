"""Processes opening ingest's SQLite files at the same moment all succeed (a server, jobs and readers share a home).

Regression: two Kafka members started together died with ``database is locked`` from ``PRAGMA journal_mode = WAL``,
which SQLite answers without waiting when another process holds a lock on a fresh file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OPENERS = {
    "registry": "from ingest.models.store import Store; Store(home / 'registry.sqlite')",
    "catalog": "from ingest.indices.catalog import IndexCatalog; IndexCatalog(home / 'indices.sqlite').close()",
    "deadletters": "from ingest.deadletter.store import DeadLetterStore; DeadLetterStore(home / 'deadletter.sqlite')",
}


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_eight_processes_open_a_fresh_file_at_once(kind: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    failures: list[str] = []
    for trial in range(4):
        home = tmp_path / str(trial)
        home.mkdir()
        start_at = time.time() + 2.5  # every process has imported ingest by then, so the opens really collide
        code = (f"import time; from pathlib import Path; home = Path({str(home)!r}); {OPENERS[kind].split(';')[0]}; "
                f"time.sleep(max(0.0, {start_at} - time.time())); {OPENERS[kind].split(';', 1)[1]}")
        procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(8)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode:
                failures.append(err.strip().splitlines()[-1])
    assert not failures, failures
