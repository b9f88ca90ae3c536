"""``ingest run --executor ray`` on a real two-node Ray cluster (head + worker, separate ``ray start``s)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

from ingest.deadletter.store import DeadLetterStore
from ingest.jobs.checkpoint import Checkpoints
from ingest.models.api import InferenceAPI
from ingest.models.results import TaskType, TextEmbeddingResults
from ingest.sinks.base import FieldHint
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer
from tests.ray.cluster import LocalRayCluster, kill, wait_until
from tests.ray.conftest import ROOT, environ, ingest_cmd, run_ingest, summary_of, write_splits

KEY = "sk-ray-test-key-0123456789"


def _pipeline(tmp: Path, endpoint: str, field: str = "vec") -> Path:
    body = {"processors": [{"inference": {"model_id": endpoint,
                                          "input_output": [{"input_field": "text", "output_field": field}]}}]}
    path = tmp / "pipeline.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _openai_endpoint(server: FakeServer, rpm: int) -> None:
    api = InferenceAPI()
    api.put("oa", {"service": "openai", "service_settings": {
        "api_key": KEY, "model_id": "text-embedding-3-small", "url": server.url + "/v1/embeddings",
        "rate_limit": {"requests_per_minute": rpm}}}, task_type="text_embedding")
    api.close()


def _store_docs(index: str) -> dict[str, dict]:
    from ingest.sinks.embedded import EmbeddedStore

    store = EmbeddedStore()
    try:
        rows = store.con.execute(f'SELECT _id FROM "{index}"').fetchall()
        return {r[0]: store.get(index, r[0]) or {} for r in rows}
    finally:
        store.close()


def _embedding_requests(server: FakeServer, since: float) -> list[float]:
    return sorted(r.received_at for r in server.requests if r.path == "/v1/embeddings" and r.received_at >= since)


def test_local_model_job_on_the_cluster_matches_the_single_process_run(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    from ingest.models.imported import import_model
    from tests.models.tiny import make_tiny_model

    built = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    import_model(built.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    api = InferenceAPI()
    api.put("tiny-dense", {"service": "elasticsearch", "service_settings": {
        "model_id": "tiny-dense", "num_threads": 1,  # on Ray: an autoscaling pool of 1..2 actors
        "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 2}}},
        task_type="text_embedding")
    api.close()
    data = write_splits(tmp_path / "data", files=4, per_file=15, missing_id={7})
    pipeline = _pipeline(tmp_path, "tiny-dense")
    # Small batches and bulks: several pipeline runs and bulk requests per block, as in the default runner.
    common = ["--source", str(data), "--pipeline", str(pipeline), "--id-field", "doc_id", "--batch-size", "4",
              "--bulk-docs", "3"]

    ray_run = run_ingest(ray_cluster, "run", *common, "--index", "on-ray", "--job-id", "ray-job",
                         "--executor", "ray", "--address", ray_cluster.address, env=environ())
    local_run = run_ingest(ray_cluster, "run", *common, "--index", "local", "--job-id", "local-job", env=environ())

    on_ray, local = summary_of(ray_run.stdout, ray_run.stderr), summary_of(local_run.stdout, local_run.stderr)
    for key in ("read", "indexed", "failed", "dropped", "completed"):
        assert on_ray[key] == local[key], key
    assert (on_ray["read"], on_ray["indexed"], on_ray["failed"]) == (60, 59, 1)
    assert ray_run.returncode == local_run.returncode == 1  # a dead letter: same exit status
    assert "ingest dead-letter list --job-id ray-job" in ray_run.stderr
    letters = DeadLetterStore().entries("ray-job")
    assert len(letters) == 1 and letters[0].error_type == "illegal_argument_exception"
    assert json.loads(letters[0].content)["n"] == 7

    ray_docs, local_docs = _store_docs("on-ray"), _store_docs("local")
    assert sorted(ray_docs) == sorted(local_docs) and len(ray_docs) == 59
    for doc_id in ("d0", "d21", "d59"):
        np.testing.assert_allclose(ray_docs[doc_id]["vec"], local_docs[doc_id]["vec"], rtol=1e-5, atol=1e-6)
    state = Checkpoints("ray-job").load()
    assert state is not None and state["status"] == "completed" and len(state["position"]["splits_done"]) == 4
    # The sink owner maps what the workers' pipeline states it writes, as the single-process runner does.
    from ingest.sinks.embedded import EmbeddedStore

    store = EmbeddedStore()
    try:
        assert store.hints("on-ray") == store.hints("local") == {"vec": FieldHint("dense", 32, "cosine")}
    finally:
        store.close()



def test_a_worker_killed_mid_run_and_every_document_is_indexed_exactly_once(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    with FakeServer(FakeOpenAI(KEY), latency_s=0.7) as server:
        _openai_endpoint(server, rpm=6000)
        data = write_splits(tmp_path / "data", files=10, per_file=10)
        args = ["run", "--source", str(data), "--pipeline", str(_pipeline(tmp_path, "oa", "emb")),
                "--id-field", "doc_id", "--index", "killed", "--job-id", "kill-job", "--executor", "ray",
                "--address", ray_cluster.address, "--concurrency", "2"]
        proc = subprocess.Popen(ingest_cmd(*args), cwd=ROOT, env={**ray_cluster.env, **environ(),
                                "INGEST_RAY_PID_DIR": str(pids)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            checkpoints = Checkpoints("kill-job")

            def one_split_done() -> bool:
                state = checkpoints.load()
                return bool(state and state["position"]["splits_done"])

            assert wait_until(one_split_done, 120), "the job never committed a split"
            workers = sorted(pids.iterdir(), key=lambda p: p.stat().st_mtime)
            assert kill(int(workers[-1].name)), "the worker was already gone"
            out, err = proc.communicate(timeout=150)
        finally:
            if proc.poll() is None:
                proc.kill()
        summary = summary_of(out, err)
        assert proc.returncode == 0, err[-3000:]
        assert (summary["read"], summary["indexed"], summary["failed"], summary["completed"]) == (100, 100, 0, True)
        docs = _store_docs("killed")
        assert sorted(docs) == sorted(f"d{i}" for i in range(100))  # every document once, none twice
        assert all(len(d["emb"]) == 8 for d in docs.values())
        assert len(list(pids.iterdir())) >= 3  # the killed actor was replaced by a new process
        requests = len(_embedding_requests(server, 0.0))
        assert requests >= 10
        print(f"embedding requests with one worker killed: {requests} for 10 blocks")


def test_the_driver_killed_mid_run_and_resume_reads_only_the_splits_not_committed(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    with FakeServer(FakeOpenAI(KEY), latency_s=0.7) as server:
        _openai_endpoint(server, rpm=6000)
        data = write_splits(tmp_path / "data", files=10, per_file=10)
        args = ["run", "--source", str(data), "--pipeline", str(_pipeline(tmp_path, "oa", "emb")),
                "--id-field", "doc_id", "--index", "resumed", "--job-id", "resume-job", "--executor", "ray",
                "--address", ray_cluster.address, "--concurrency", "2"]
        proc = subprocess.Popen(ingest_cmd(*args), cwd=ROOT, env={**ray_cluster.env, **environ()},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            checkpoints = Checkpoints("resume-job")
            assert wait_until(lambda: bool((checkpoints.load() or {}).get("position", {}).get("splits_done")), 120)
        finally:
            proc.kill()  # the driver dies: Ray tears the job's actors down with it
            proc.wait(timeout=30)
        state = checkpoints.load()
        assert state is not None and state["status"] == "running"
        committed = len(state["position"]["splits_done"])
        assert 1 <= committed < 10
        assert state["totals"]["read"] == 10 * committed

        resumed_at = time.monotonic()
        again = run_ingest(ray_cluster, *args, "--resume", env=environ())
        assert again.returncode == 0, again.stderr[-3000:]
        summary = summary_of(again.stdout, again.stderr)
        assert (summary["read"], summary["indexed"], summary["completed"]) == (100, 100, True)
        # Only the splits not committed went through the pipeline again (texts embedded before the crash come
        # from the skip-unchanged cache, so there may be fewer requests than blocks).
        assert summary["cache_hits"] + summary["cache_misses"] == 10 * (10 - committed)
        assert len(_embedding_requests(server, resumed_at)) <= 10 - committed
    assert sorted(_store_docs("resumed")) == sorted(f"d{i}" for i in range(100))


def test_the_rate_limit_is_shared_by_every_worker(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    rpm = 300  # one request every 0.2 s for the whole cluster
    pids = tmp_path / "pids"
    with FakeServer(FakeOpenAI(KEY), rate_limit_rpm=rpm) as server:
        _openai_endpoint(server, rpm=rpm)
        data = write_splits(tmp_path / "data", files=16, per_file=5)
        started = time.monotonic()
        run = run_ingest(ray_cluster, "run", "--source", str(data), "--pipeline", str(_pipeline(tmp_path, "oa", "emb")),
                         "--id-field", "doc_id", "--index", "limited", "--executor", "ray", "--address",
                         ray_cluster.address, "--concurrency", "2",
                         env={**environ(), "INGEST_RAY_PID_DIR": str(pids)})
        assert run.returncode == 0, run.stderr[-3000:]
        assert summary_of(run.stdout)["indexed"] == 80
        arrivals = _embedding_requests(server, started)
    assert len(list(pids.iterdir())) >= 2  # two workers sent requests
    assert len(arrivals) == 16  # one request per block: the provider never answered 429
    gaps = np.diff(arrivals)
    interval = 60 / rpm
    # The margin absorbs scheduling jitter on a loaded machine; two unshared limits would also send 2x the rate.
    assert gaps.min() >= interval * 0.6, f"requests {gaps.min():.3f}s apart; the shared limit is {interval}s"
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate <= rpm / 60 * 1.1


def test_parquet_and_csv_sources_on_ray(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet, csv = tmp_path / "parquet", tmp_path / "csv"
    parquet.mkdir()
    csv.mkdir()
    for f in range(3):
        rows = [{"doc_id": f"p{f}-{i}", "title": f"row {i} of file {f}", "n": i} for i in range(20)]
        pq.write_table(pa.Table.from_pylist(rows), parquet / f"part-{f}.parquet")
        (csv / f"part-{f}.csv").write_text("doc_id,title,n\n" + "".join(
            f"c{f}-{i},\"row {i}, file {f}\",{i}\n" for i in range(20)), encoding="utf-8")
    for folder, index in ((parquet, "from-parquet"), (csv, "from-csv")):
        run = run_ingest(ray_cluster, "run", "--source", str(folder), "--index", index, "--id-field", "doc_id",
                         "--executor", "ray", "--address", ray_cluster.address, env=environ())
        assert run.returncode == 0, run.stderr[-3000:]
        assert summary_of(run.stdout, run.stderr)["indexed"] == 60
    docs = _store_docs("from-parquet")
    assert len(docs) == 60 and docs["p2-7"] == {"doc_id": "p2-7", "title": "row 7 of file 2", "n": 7}
    docs = _store_docs("from-csv")
    assert len(docs) == 60 and docs["c1-3"]["title"] == "row 3, file 1" and docs["c1-3"]["n"] == 3


def test_skip_existing_reads_stored_documents_through_the_sink_owner(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    """Ray workers compare with the stored documents (OpenSearch's ``skip_existing``) via the owner actor.

    Between the runs the endpoint is re-created on a different model: documents whose text did not change keep
    the first model's vectors, which only a reuse of the stored output can explain; the changed one gets the
    second model's vector.
    """
    from ingest.models.imported import import_model
    from tests.models.tiny import make_tiny_model

    for name, seed in (("tiny-a", 1), ("tiny-b", 2)):
        built = make_tiny_model(tmp_path / name, TaskType.TEXT_EMBEDDING, seed=seed)
        import_model(built.onnx_path, name, TaskType.TEXT_EMBEDDING)

    def endpoint_on(model: str, replace: bool = False) -> InferenceAPI:
        api = InferenceAPI()
        if replace:
            api.delete("emb")
        api.put("emb", {"service": "elasticsearch", "service_settings": {
            "model_id": model, "num_threads": 1, "num_allocations": 1}}, task_type="text_embedding")
        return api

    data = write_splits(tmp_path / "data", files=2, per_file=4)
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps({"processors": [{"text_embedding": {
        "model_id": "emb", "field_map": {"text": "vec"}, "skip_existing": True}}]}), encoding="utf-8")
    common = ["--source", str(data), "--pipeline", str(pipeline), "--id-field", "doc_id", "--index", "skip",
              "--executor", "ray", "--address", ray_cluster.address, "--no-skip-unchanged"]

    endpoint_on("tiny-a").close()
    first = run_ingest(ray_cluster, "run", *common, "--job-id", "skip-1", env=environ())
    assert summary_of(first.stdout, first.stderr)["indexed"] == 8, first.stderr
    before = _store_docs("skip")
    part = data / "part-000.jsonl"
    lines = [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    lines[1]["text"] = "a brand new text"
    part.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")

    api = endpoint_on("tiny-b", replace=True)
    try:
        result = api.infer("emb", ["a brand new text"], input_type="ingest")
        assert isinstance(result, TextEmbeddingResults)
        expected_new = np.asarray(result.embeddings[0])
        old_model_new = np.asarray(before["d1"]["vec"])
    finally:
        api.close()
    second = run_ingest(ray_cluster, "run", *common, "--job-id", "skip-2", env=environ())
    assert summary_of(second.stdout, second.stderr)["indexed"] == 8, second.stderr
    after = _store_docs("skip")
    for doc_id in before:
        if doc_id == "d1":
            assert np.allclose(after[doc_id]["vec"], expected_new, atol=1e-5)
            assert not np.allclose(after[doc_id]["vec"], old_model_new, atol=1e-3)
        else:
            assert after[doc_id]["vec"] == before[doc_id]["vec"], doc_id
