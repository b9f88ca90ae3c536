"""``ingest reindex --executor ray``: an OpenSearch index read as point-in-time slices (one read task each) on the
two-node Ray cluster, written by the workers straight into OpenSearch and, through the sink owner, into the
embedded store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ingest.jobs import JobConfig, run_job
from ingest.jobs.checkpoint import Checkpoints
from ingest.sinks import open_sink
from tests.ray.cluster import LocalRayCluster
from tests.ray.conftest import environ, run_ingest, summary_of, write_splits


@pytest.mark.cluster
def test_reindex_reads_pit_slices_on_the_cluster(ray_cluster: LocalRayCluster, opensearch_url: str,
                                                 ingest_home: Path, tmp_path: Path) -> None:
    for name in ("ray-src", "ray-copy"):
        httpx.delete(f"{opensearch_url}/{name}", timeout=30)
    data = write_splits(tmp_path / "data", files=1, per_file=90)
    loaded = run_job(JobConfig(source=str(data), index="ray-src", dest=opensearch_url, id_field="doc_id"))
    assert loaded.indexed == 90

    common = ["reindex", "--source-url", opensearch_url, "--source-index", "ray-src", "--slices", "3",
              "--executor", "ray", "--address", ray_cluster.address]
    into_cluster = run_ingest(ray_cluster, *common, "--index", "ray-copy", "--dest", opensearch_url,
                              "--job-id", "ray-reindex-os", env=environ())
    into_store = run_ingest(ray_cluster, *common, "--index", "ray-copy", "--job-id", "ray-reindex-embedded",
                            env=environ())

    for run in (into_cluster, into_store):
        assert run.returncode == 0, run.stderr[-3000:]
        summary = summary_of(run.stdout, run.stderr)
        assert (summary["read"], summary["indexed"], summary["failed"]) == (90, 90, 0)
    state = Checkpoints("ray-reindex-os").load()
    assert state is not None and state["position"]["slices"] == 3
    assert sorted(state["position"]["splits_done"]) == [f"slice-{i}-of-3" for i in range(3)]

    httpx.post(f"{opensearch_url}/ray-copy/_refresh", timeout=30)
    assert httpx.get(f"{opensearch_url}/ray-copy/_count", timeout=30).json()["count"] == 90
    got = httpx.get(f"{opensearch_url}/ray-copy/_doc/d42", timeout=30).json()
    assert got["_source"]["n"] == 42  # ids kept
    store = open_sink("embedded")
    try:
        assert store.count("ray-copy") == 90  # type: ignore[attr-defined]
        assert (store.get("ray-copy", "d7") or {}).get("n") == 7  # type: ignore[attr-defined]
    finally:
        store.close()
