"""``semantic_text`` on ``ingest run --executor ray``: the sink owner embeds the field on write, exactly as the
single-process run does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.models.api import InferenceAPI
from ingest.models.results import TaskType
from tests.jobs.helpers import write_jsonl
from tests.ray.cluster import LocalRayCluster
from tests.ray.conftest import environ, run_ingest, summary_of


def _chunks(index: str) -> dict[str, list[dict]]:
    from ingest.sinks.embedded import EmbeddedStore

    store = EmbeddedStore()
    try:
        out = {}
        for page in store.scan(index):
            for doc in page:
                out[doc.id] = doc.source["_inference_fields"]["text"]["inference"]["chunks"]["text"]
        return out
    finally:
        store.close()


def test_semantic_text_on_ray_matches_the_single_process_run(
        ray_cluster: LocalRayCluster, ingest_home: Path, tmp_path: Path) -> None:
    from ingest.models.imported import import_model
    from ingest.sinks.embedded import EmbeddedStore
    from tests.models.tiny import make_tiny_model

    built = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    import_model(built.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    api = InferenceAPI()
    api.put("tiny-dense", {"service": "elasticsearch", "service_settings": {
        "model_id": "tiny-dense", "num_allocations": 1, "num_threads": 1},
        "chunking_settings": {"strategy": "word", "max_chunk_size": 10, "overlap": 0}}, task_type="text_embedding")
    api.close()
    store = EmbeddedStore()
    for index in ("on-ray", "local"):
        store.ensure_index(index, {})
        store.put_mapping(index, {"text": {"type": "semantic_text", "inference_id": "tiny-dense"}}, {})
    store.close()
    data = tmp_path / "data"
    data.mkdir()
    for part in range(2):  # two splits of ten documents of 5 to 23 words
        write_jsonl(data / f"part-{part}.jsonl", [
            {"doc_id": f"d{n}", "text": " ".join(f"w{n}x{k}" for k in range(5 + n))}
            for n in range(part * 10, part * 10 + 10)])
    common = ["--source", str(data), "--id-field", "doc_id", "--batch-size", "4", "--bulk-docs", "3"]
    ray_run = run_ingest(ray_cluster, "run", *common, "--index", "on-ray", "--job-id", "ray-sem",
                         "--executor", "ray", "--address", ray_cluster.address, env=environ())
    local_run = run_ingest(ray_cluster, "run", *common, "--index", "local", "--job-id", "local-sem", env=environ())
    assert ray_run.returncode == local_run.returncode == 0, ray_run.stderr[-3000:]
    assert summary_of(ray_run.stdout)["indexed"] == summary_of(local_run.stdout)["indexed"] == 20
    on_ray, local = _chunks("on-ray"), _chunks("local")
    assert sorted(on_ray) == sorted(local) and len(on_ray) == 20
    assert len(on_ray["d0"]) == 1 and len(on_ray["d19"]) == 3  # 5 words; 24 words in chunks of 10
    for doc_id in on_ray:
        for a, b in zip(on_ray[doc_id], local[doc_id], strict=True):
            assert (a["start_offset"], a["end_offset"]) == (b["start_offset"], b["end_offset"])
            np.testing.assert_allclose(a["embeddings"], b["embeddings"], rtol=1e-5, atol=1e-6)
