"""A real two-node Ray cluster (one per session, always stopped) and the inputs of the Ray job tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ray.cluster import LocalRayCluster, two_node_cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    """Head (1 CPU) + one worker node (2 CPUs), separate ``ray start`` processes on 127.0.0.1."""
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    with two_node_cluster(tmp_path_factory.mktemp("ray"), head_cpus=1) as cluster:
        yield cluster


def write_splits(folder: Path, files: int, per_file: int, *, missing_id: set[int] | None = None) -> Path:
    """``files`` JSON Lines files of ``per_file`` documents; documents numbered in ``missing_id`` lack ``doc_id``."""
    folder.mkdir(parents=True, exist_ok=True)
    words = ["the cat sat on the mat", "a dog", "hello world", "search query", "passage"]
    n = 0
    for f in range(files):
        lines = []
        for _ in range(per_file):
            doc: dict[str, Any] = {"doc_id": f"d{n}", "text": f"{words[n % len(words)]} {n}", "n": n}
            if missing_id and n in missing_id:
                del doc["doc_id"]
            lines.append(json.dumps(doc))
            n += 1
        (folder / f"part-{f:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def ingest_cmd(*args: str) -> list[str]:
    """The ``ingest`` CLI as a subprocess command."""
    return [sys.executable, "-m", "ingest.cli.main", *args]


def run_ingest(cluster: LocalRayCluster, *args: str, env: dict[str, str] | None = None,
               timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion with the cluster's environment plus ``env``."""
    full = {**cluster.env, **(env or {})}
    return subprocess.run(ingest_cmd(*args), cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout)


def summary_of(stdout: str, stderr: str = "") -> dict[str, Any]:
    """The JSON summary line of ``ingest run``."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no summary\nstdout={stdout}\nstderr={stderr[-3000:]}"
    return dict(json.loads(lines[-1]))


def environ() -> dict[str, str]:
    """This process's environment (INGEST_HOME set by the ingest_home fixture)."""
    return dict(os.environ)
