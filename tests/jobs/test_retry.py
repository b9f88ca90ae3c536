"""Against a real OpenSearch node behind a throttling proxy: 429 items are retried, a cluster that goes away
and comes back costs nothing, and every document arrives exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.jobs import JobConfig, run_job
from ingest.jobs.checkpoint import Checkpoints
from tests.jobs.helpers import docs, write_jsonl
from tests.jobs.proxy import ThrottlingProxy


@pytest.fixture()
def proxy(opensearch_url: str) -> Iterator[ThrottlingProxy]:
    p = ThrottlingProxy(opensearch_url).start()
    yield p
    p.close()


@pytest.fixture()
def plain_proxy(opensearch_url: str) -> Iterator[ThrottlingProxy]:
    p = ThrottlingProxy(opensearch_url, reject_every=0).start()
    yield p
    p.close()


def _ids(url: str, index: str) -> list[str]:
    httpx.post(f"{url}/{index}/_refresh", timeout=30)
    body = httpx.post(f"{url}/{index}/_search", json={"size": 10000, "_source": False}, timeout=30).json()
    return sorted(h["_id"] for h in body["hits"]["hits"])


@pytest.mark.cluster
def test_throttled_items_are_retried_and_nothing_is_lost(
    ingest_home: Path, tmp_path: Path, opensearch_url: str, proxy: ThrottlingProxy
) -> None:
    data = docs(300)
    src = write_jsonl(tmp_path / "in.jsonl", data)
    index = "jobs-throttled"
    httpx.delete(f"{opensearch_url}/{index}", timeout=30)
    config = JobConfig(source=str(src), index=index, dest=proxy.url, id_field="doc_id", bulk_docs=50,
                       backoff_initial_s=0.05, backoff_max_s=0.5, source_options={"batch_size": 100})
    summary = run_job(config)
    assert summary.indexed == 300 and summary.failed == 0
    assert proxy.rejected >= 100 and summary.retried >= proxy.rejected
    assert _ids(opensearch_url, index) == sorted(d["doc_id"] for d in data)


@pytest.mark.cluster
def test_cluster_going_away_mid_run_and_coming_back(
    ingest_home: Path, tmp_path: Path, opensearch_url: str, plain_proxy: ThrottlingProxy
) -> None:
    proxy = plain_proxy
    data = docs(600)
    src = write_jsonl(tmp_path / "in.jsonl", data)
    index = "jobs-outage"
    httpx.delete(f"{opensearch_url}/{index}", timeout=30)
    config = JobConfig(source=str(src), index=index, dest=proxy.url, id_field="doc_id", bulk_docs=20,
                       backoff_initial_s=0.05, backoff_max_s=0.5, unavailable_timeout_s=60,
                       source_options={"batch_size": 40}, job_id="outage")
    outage = {"seen": False}

    def outage_after_first_checkpoint() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Checkpoints("outage").load() is None:
            time.sleep(0.005)
        proxy.go_away()
        outage["seen"] = True
        time.sleep(2.0)
        proxy.come_back()

    thread = threading.Thread(target=outage_after_first_checkpoint)
    thread.start()
    summary = run_job(config)
    thread.join()
    assert outage["seen"]
    assert summary.indexed == 600 and summary.failed == 0
    assert proxy.rejected == 0 and summary.requests_retried > 0  # the retries were the outage's
    assert _ids(opensearch_url, index) == sorted(d["doc_id"] for d in data)


@pytest.mark.cluster
def test_sigkill_with_concurrent_senders_then_resume(ingest_home: Path, tmp_path: Path, opensearch_url: str) -> None:
    """Three senders acknowledge out of order; kills mid-bulk and before a checkpoint lose nothing."""
    import signal

    from tests.jobs.helpers import ingest, summary_of

    data = docs(500)
    src = write_jsonl(tmp_path / "in.jsonl", data)
    index = "jobs-killed"
    httpx.delete(f"{opensearch_url}/{index}", timeout=30)
    args = ["run", "--source", str(src), "--index", index, "--dest", opensearch_url, "--id-field", "doc_id",
            "--job-id", "killed", "--batch-size", "50", "--bulk-docs", "15", "--senders", "3"]
    first = ingest(*args, env={"INGEST_FAULT": "bulk:6"})
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    second = ingest(*args, "--resume", env={"INGEST_FAULT": "acked:3"})
    assert second.returncode == -signal.SIGKILL, second.stderr[-2000:]
    final = ingest(*args, "--resume")
    assert final.returncode == 0, final.stderr[-2000:]
    assert summary_of(final)["indexed"] == 500
    assert _ids(opensearch_url, index) == sorted(d["doc_id"] for d in data)
    settings = httpx.get(f"{opensearch_url}/{index}/_settings", params={"flat_settings": "true"}, timeout=30).json()
    assert settings[index]["settings"].get("index.refresh_interval") != "-1"  # load mode undone after the kills
