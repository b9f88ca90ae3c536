"""Ingest benchmark (issue 6, item 10).

1. SciFact through an E5 + sparse pipeline (inference processors) into the embedded store and, when
   ``--opensearch URL`` is given, an OpenSearch node: end-to-end docs/s as a ratio to model-only docs/s on the
   same texts (the same endpoints called directly, same batch sizes). Target ≥ 0.9 into the embedded store.
   The skip-unchanged cache is off for these runs, so every text really goes to the model.
2. Peak RSS streaming many small documents through a no-inference pipeline (a ``set`` processor) into the
   embedded store, in a subprocess sampled every 0.5 s. Target: flat, under 500 MB.

``python -m bench.ingest_bench [--docs 1000] [--rss-docs 1000000] [--opensearch http://127.0.0.1:9200|start]``
Runs in a private $INGEST_HOME (the model cache stays shared). Prints a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data import log, sample_texts

ROOT = Path(__file__).resolve().parents[1]
DENSE, SPARSE = "bench-e5", "bench-sparse"


def _pipeline(body_only_set: bool = False) -> dict:
    processors: list[dict] = [{"set": {"field": "bench", "value": "ingest"}}]
    if not body_only_set:
        processors += [
            {"inference": {"model_id": DENSE, "input_output": [{"input_field": "text", "output_field": "e5"}]}},
            {"inference": {"model_id": SPARSE, "input_output": [{"input_field": "text", "output_field": "sparse"}]}},
        ]
    return {"description": "bench", "processors": processors}


def _endpoints(threads: int) -> None:
    from ingest.models.api import default_api

    api = default_api()
    for endpoint, task, model in ((DENSE, "text_embedding", ".multilingual-e5-small"),
                                  (SPARSE, "sparse_embedding", ".elser_model_2")):
        api.put(endpoint, {"service": "elasticsearch", "service_settings": {
            "model_id": model, "num_allocations": 1, "num_threads": threads}}, task_type=task)


def model_only(texts: list[str], batch: int) -> tuple[float, float]:
    """(docs/s, docs per CPU-second of this process) of the two endpoints called directly, batch by batch."""
    from ingest.models.api import default_api

    api = default_api()
    api.infer(DENSE, texts[:8], input_type="ingest")  # warm-up
    api.infer(SPARSE, texts[:8], input_type="ingest")
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        part = texts[i : i + batch]
        api.infer(DENSE, part, input_type="ingest")
        api.infer(SPARSE, part, input_type="ingest")
    return len(texts) / (time.perf_counter() - start), len(texts) / (time.process_time() - cpu)


def end_to_end(src: Path, pipeline: Path, dest: str, index: str, batch: int) -> tuple[float, float, int]:
    """(docs/s, docs per CPU-second of this process, indexed) of a job run in process, the cache off."""
    from ingest.jobs import JobConfig, run_job

    config = JobConfig(source=str(src), index=index, dest=dest, pipeline=str(pipeline), id_field="doc_id",
                       skip_unchanged=False, source_options={"batch_size": batch}, job_id=f"bench-{index}")
    start, cpu = time.perf_counter(), time.process_time()
    summary = run_job(config)
    return (summary.read / (time.perf_counter() - start), summary.read / (time.process_time() - cpu),
            summary.indexed)


def peak_rss(n: int, home: Path, timeout_s: float) -> dict[str, object]:
    """Stream ``n`` small documents through a no-inference pipeline in a subprocess; sample its RSS."""
    src = home / "small.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"doc_id": f"s{i}", "title": f"small document {i}", "n": i}) + "\n")
    pipeline = home / "set.json"
    pipeline.write_text(json.dumps(_pipeline(body_only_set=True)))
    cmd = [sys.executable, "-m", "ingest.cli.main", "run", "--source", str(src), "--index", "small",
           "--pipeline", str(pipeline), "--id-field", "doc_id", "--job-id", "bench-rss"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    samples: list[int] = []
    while proc.poll() is None and time.perf_counter() - start < timeout_s:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            samples.append(int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]) // 1024)
        except (OSError, StopIteration):
            pass
        time.sleep(0.5)
    finished = proc.poll() is not None
    if not finished:
        proc.kill()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    summary = json.loads(out.splitlines()[-1]) if finished and out.strip() else {}
    quarter = max(1, len(samples) // 4)
    return {
        "docs": n, "finished": finished, "indexed": summary.get("indexed"), "elapsed_s": round(elapsed, 1),
        "docs_per_s": round((summary.get("read") or 0) / elapsed, 1),
        "peak_rss_mb": max(samples, default=0),
        "rss_quartiles_mb": [max(samples[i : i + quarter], default=0) for i in range(0, len(samples), quarter)][:4],
    }


def _row(name: str, rate: float, cpu_rate: float, base: float, base_cpu: float, indexed: int) -> str:
    return (f"| {name} | {rate:.1f} docs/s ({cpu_rate:.1f} per CPU-s) | model only {base:.1f} docs/s "
            f"({base_cpu:.1f} per CPU-s) | ratio {rate / base:.2f} wall, {cpu_rate / base_cpu:.2f} CPU "
            f"(indexed {indexed}) |")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="SciFact documents (a spread of the corpus)")
    parser.add_argument("--batch", type=int, default=64, help="rows per source batch")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads per endpoint")
    parser.add_argument("--opensearch", default=None,
                        help="OpenSearch URL for the cluster run, or 'start' to start the test node (tests/clusters)")
    parser.add_argument("--rss-docs", type=int, default=1_000_000)
    parser.add_argument("--rss-timeout", type=float, default=900.0)
    parser.add_argument("--skip-model", action="store_true", help="only the RSS run")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    os.environ["INGEST_HOME"] = str(home)
    rows: list[str] = []
    if not args.skip_model:
        texts = sample_texts(args.docs)
        src = home / "scifact.jsonl"
        src.write_text("".join(json.dumps({"doc_id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
        pipeline = home / "pipeline.json"
        pipeline.write_text(json.dumps(_pipeline()))
        log("building/loading models …")
        _endpoints(args.threads)
        log("model only …")
        base, base_cpu = model_only(texts, args.batch)
        log(f"model only: {base:.1f} docs/s; embedded …")
        emb, emb_cpu, n_emb = end_to_end(src, pipeline, "embedded", "scifact", args.batch)
        rows.append(_row(f"SciFact ×{len(texts)} → embedded", emb, emb_cpu, base, base_cpu, n_emb))
        node = None
        if args.opensearch == "start":
            from tests.clusters import opensearch

            log("starting an OpenSearch node …")
            node = opensearch.start(home / "opensearch")
            args.opensearch = node.url
        if args.opensearch:
            log("opensearch …")
            try:
                osr, os_cpu, n_os = end_to_end(src, pipeline, args.opensearch, "scifact-bench", args.batch)
            finally:
                if node is not None:
                    node.stop()
            rows.append(_row(f"SciFact ×{len(texts)} → OpenSearch", osr, os_cpu, base, base_cpu, n_os))
    if args.rss_docs:
        log(f"peak RSS over {args.rss_docs} small documents …")
        rss = peak_rss(args.rss_docs, home, args.rss_timeout)
        rows.append(f"| {rss['docs']} small docs, no inference → embedded | {rss['docs_per_s']} docs/s | "
                    f"peak RSS {rss['peak_rss_mb']} MB (per quarter {rss['rss_quartiles_mb']}) | "
                    f"finished={rss['finished']} in {rss['elapsed_s']} s |")
    shutil.rmtree(home, ignore_errors=True)
    print("| run | throughput | reference | result |\n|---|---|---|---|")
    print("| (ratios: wall-clock, and per CPU-second of this process — robust when the machine is shared) | | | |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
