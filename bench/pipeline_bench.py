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

from ingest.processors import parse_pipeline

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


def bench_inference(count: int, batch_size: int, reps: int) -> dict[str, float]:
    """Inference-processor docs/s as a fraction of model-only docs/s on the same SciFact texts (E5, 1 thread).

    The two runs alternate ``reps`` times and the medians are compared, so that a burst of load from
    elsewhere on a shared machine falls on both sides rather than on one.
    """
    import statistics
    import tempfile

    from bench.data import sample_texts
    from ingest.models.api import InferenceAPI
    from ingest.models.results import InputType
    from ingest.models.runtime import load_model
    from ingest.processors import PipelineService

    texts = sample_texts(count)
    table = pa.table({"text": texts})
    os.environ["INGEST_HOME"] = tempfile.mkdtemp(prefix="pipeline-bench-")
    model = load_model(".multilingual-e5-small", threads=1)
    api = InferenceAPI()
    try:
        # Chunking off, so that both runs embed the same whole texts (the model truncates).
        api.put("bench-e5", {"service": "elasticsearch", "chunking_settings": {"strategy": "none"},
                             "service_settings": {"model_id": ".multilingual-e5-small", "num_allocations": 1,
                                                  "num_threads": 1}}, task_type="text_embedding", timeout_s=900)
        pipeline = PipelineService(api.store, api).parse({"processors": [
            {"inference": {"model_id": "bench-e5", "input_output": {"input_field": "text", "output_field": "vec"}}}]})

        def model_only() -> None:
            for i in range(0, len(texts), batch_size):
                model.embed(texts[i:i + batch_size], InputType.INGEST)

        def through_pipeline() -> None:
            for i in range(0, len(texts), batch_size):
                result = pipeline.run(table.slice(i, batch_size))
                assert all(o.status == "indexed" for o in result.outcomes)

        model.embed(texts[:8], InputType.INGEST)  # warm up both
        pipeline.run(table.slice(0, 8))
        model_times, pipe_times = [], []
        for _ in range(reps):
            for run, times in ((model_only, model_times), (through_pipeline, pipe_times)):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
    finally:
        api.close()
        model.close()
    model_s, pipe_s = statistics.median(model_times), statistics.median(pipe_times)
    return {"texts": len(texts), "reps": reps, "model_only_docs_per_s": round(len(texts) / model_s, 1),
            "pipeline_docs_per_s": round(len(texts) / pipe_s, 1), "ratio": round(model_s / pipe_s, 3),
            "ratio_per_rep": [round(m / p, 3) for m, p in zip(model_times, pipe_times, strict=True)]}


def main() -> None:
    """Run the benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--inference", action="store_true", help="also run the E5 inference comparison")
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--inference-batch", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3, help="alternating repetitions of the inference runs")
    args = parser.parse_args()
    result: dict[str, Any] = {"docs": args.docs, "batch_size": args.batch_size, **bench_pipeline(args.docs,
                                                                                               args.batch_size)}
    if args.inference:
        result["inference"] = bench_inference(args.texts, args.inference_batch, args.reps)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
