"""Losing a whole worker node mid-job loses nothing: its actors and blocks are redone on the surviving node
and every document is indexed exactly once. A cluster of its own (the session cluster keeps its nodes)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.jobs.checkpoint import Checkpoints
from tests.ray.cluster import LocalRayCluster, two_node_cluster, wait_until
from tests.ray.conftest import ROOT, environ, ingest_cmd, summary_of, write_splits
from tests.ray.test_cluster import KEY, _openai_endpoint, _pipeline, _store_docs

pytestmark = pytest.mark.slow


@pytest.fixture()
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    with two_node_cluster(tmp_path_factory.mktemp("rnl"), head_cpus=2) as cluster:
        yield cluster


def test_a_worker_node_lost_mid_job_and_every_document_is_indexed_once(
        two_nodes: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    from tests.fakes.openai import FakeOpenAI
    from tests.fakes.server import FakeServer

    pids = tmp_path / "pids"
    with FakeServer(FakeOpenAI(KEY), latency_s=0.5) as server:
        _openai_endpoint(server, rpm=6000)
        data = write_splits(tmp_path / "data", files=12, per_file=10)
        args = ["run", "--source", str(data), "--pipeline", str(_pipeline(tmp_path, "oa", "emb")),
                "--id-field", "doc_id", "--index", "node-lost", "--job-id", "node-job", "--executor", "ray",
                "--address", two_nodes.address, "--concurrency", "1,3", "--batch-size", "5"]
        proc = subprocess.Popen(ingest_cmd(*args), cwd=ROOT, env={**two_nodes.env, **environ(),
                                "INGEST_RAY_PID_DIR": str(pids)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            checkpoints = Checkpoints("node-job")

            def working_on_the_worker_node() -> bool:
                state = checkpoints.load()
                actors = {int(p.name) for p in pids.iterdir()} if pids.exists() else set()
                on_worker = actors & _pids_of_node(two_nodes)
                return bool(state and state["position"]["splits_done"] and on_worker)

            assert wait_until(working_on_the_worker_node, 150), "no actor ran on the worker node after a commit"
            killed = two_nodes.kill_worker(0)
            assert killed
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    summary = summary_of(out, err)
    assert proc.returncode == 0, err[-3000:]
    assert (summary["read"], summary["indexed"], summary["failed"], summary["completed"]) == (120, 120, 0, True)
    docs = _store_docs("node-lost")
    assert sorted(docs) == sorted(f"d{i}" for i in range(120))  # every document, none twice
    assert all(len(d["emb"]) == 8 for d in docs.values())


def _pids_of_node(cluster: LocalRayCluster) -> set[int]:
    from tests.ray.cluster import _processes_under

    return _processes_under(str(cluster.workers[0]) + "/")
