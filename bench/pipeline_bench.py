"""Pipeline throughput on one core: columnar vs per-document, and the inference processor vs the model alone.

    taskset -c 0 .venv/bin/python -m bench.pipeline_bench               # 6 processors on 100k documents
    taskset -c 0 .venv/bin/python -m bench.pipeline_bench --inference   # plus E5 on 1000 SciFact texts

The 6-processor pipeline is set / rename / lowercase / convert / remove / script. Target: ≥ 50,000 docs/s on
the columnar path. The inference figure is pipeline docs/s divided by model-only docs/s on the same texts
(target ≥ 0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa

from processors import parse_pipeline

PIPELINE: dict[str, Any] = {"processors": [
    {"set": {"field": "env", "value": "production"}},
    {"rename": {"field": "msg", "target_field": "message"}},
    {"lowercase": {"field": "message"}},
    {"convert": {"field": "status", "type": "integer"}},
    {"remove": {"field": "debug"}},
    {"script": {"source": "ctx.bytes_kb = ctx.bytes / 1024.0"}},
]}


def make_table(n: int) -> pa.Table:
    """``n`` synthetic log documents."""
    return pa.table({
        "msg": [f"GET /Index/{i % 97}.HTML From Host-{i % 13}" for i in range(n)],
        "status": [str(200 + (i % 5) * 100) for i in range(n)],
        "debug": [i % 2 == 0 for i in range(n)],
        "bytes": [i * 7 % 100_000 for i in range(n)],
    })


def bench_pipeline(n: int, batch_size: int) -> dict[str, float]:
    """docs/s for the columnar and the per-document paths on the same data."""
    pipeline = parse_pipeline("bench", PIPELINE)
    table = make_table(n)
    batches = [table.slice(i, batch_size) for i in range(0, n, batch_size)]
    out: dict[str, float] = {}
    for label, columnar in (("columnar", True), ("per_document", False)):
        start = time.perf_counter()
        rows = 0
        for batch in batches:
            rows += pipeline.run(batch, columnar=columnar).table.num_rows
        elapsed = time.perf_counter() - start
        assert rows == n
        out[f"{label}_docs_per_s"] = round(n / elapsed)
    return out


def bench_inference(count: int, batch_size: int) -> dict[str, float]:
    """Inference-processor docs/s as a fraction of model-only docs/s on the same SciFact texts (E5, 1 thread)."""
    import tempfile

    from bench.data import sample_texts
    from models.api import InferenceAPI
    from models.results import InputType
    from models.runtime import load_model
    from processors import PipelineService

    texts = sample_texts(count)
    model = load_model(".multilingual-e5-small", threads=1)
    try:
        model.embed(texts[:8], InputType.INGEST)  # warm up
        start = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            model.embed(texts[i:i + batch_size], InputType.INGEST)
        model_s = time.perf_counter() - start
    finally:
        model.close()
    os.environ["INGEST_HOME"] = tempfile.mkdtemp(prefix="pipeline-bench-")
    api = InferenceAPI()
    try:
        # Chunking off, so that both runs embed the same whole texts (the model truncates).
        api.put("bench-e5", {"service": "elasticsearch", "chunking_settings": {"strategy": "none"},
                             "service_settings": {"model_id": ".multilingual-e5-small", "num_allocations": 1,
                                                  "num_threads": 1}}, task_type="text_embedding", timeout_s=900)
        pipeline = PipelineService(api.store, api).parse({"processors": [
            {"inference": {"model_id": "bench-e5", "input_output": {"input_field": "text", "output_field": "vec"}}}]})
        table = pa.table({"text": texts})
        pipeline.run(table.slice(0, 8))  # warm up
        start = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            result = pipeline.run(table.slice(i, batch_size))
            assert all(o.status == "indexed" for o in result.outcomes)
        pipe_s = time.perf_counter() - start
    finally:
        api.close()
    return {"texts": len(texts), "model_only_docs_per_s": round(len(texts) / model_s, 1),
            "pipeline_docs_per_s": round(len(texts) / pipe_s, 1), "ratio": round(model_s / pipe_s, 3)}


def main() -> None:
    """Run the benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--inference", action="store_true", help="also run the E5 inference comparison")
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--inference-batch", type=int, default=256)
    args = parser.parse_args()
    result: dict[str, Any] = {"docs": args.docs, "batch_size": args.batch_size, **bench_pipeline(args.docs,
                                                                                               args.batch_size)}
    if args.inference:
        result["inference"] = bench_inference(args.texts, args.inference_batch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
