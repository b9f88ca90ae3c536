"""Ray executor benchmark (issue 7, item 5): the same small job with the single-process runner and on Ray.

On this 2-core machine Ray cannot win: both runs have the same two cores, and Ray adds its own processes
(GCS, raylet, object store), worker start-up, a model load per actor and Arrow serialisation between the read
tasks, the pool and the driver. What this measures is that overhead, as a ratio of elapsed times:

- ``local``: ``ingest run`` in this process, E5-small with ``num_threads: 2`` (one allocation using both cores);
- ``ray cold``: the same job on a fresh one-node Ray (``ray start --head --num-cpus=2``), the endpoint at
  ``num_allocations: 2, num_threads: 1`` (two pool actors, one core each) — includes worker start-up and model
  loads;
- ``ray warm``: the same job again on the running cluster (new actors, so model loads again; no cluster start);
- ``local again``: the first run repeated, because other processes share the machine and its speed drifts.

The ratio is each run's elapsed time over the mean of the two local runs. ``--no-model`` (a ``set`` processor
only) isolates the executor's own overhead.

``python -m bench.ray_bench [--docs 400] [--files 8] [--no-model]`` (needs ``ingest[ray]``). Private
$INGEST_HOME; the model cache stays shared. Prints a Markdown table; always stops the Ray node it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from bench.data import log

MODEL = ".multilingual-e5-small"


def _texts(n: int) -> list[str]:
    try:
        from bench.data import load_corpus

        return load_corpus()[1][:n]
    except SystemExit:
        return [f"document {i} about search, vectors and ingest pipelines" for i in range(n)]


def _write_inputs(home: Path, docs: int, files: int) -> Path:
    folder = home / "input"
    folder.mkdir()
    texts = _texts(docs)
    per = -(-len(texts) // files)
    for f in range(files):
        part = texts[f * per:(f + 1) * per]
        with open(folder / f"part-{f:03d}.jsonl", "w", encoding="utf-8") as fh:
            for i, text in enumerate(part):
                fh.write(json.dumps({"doc_id": f"b{f * per + i}", "text": text}) + "\n")
    return folder


def _pipeline(home: Path, with_model: bool) -> Path:
    processors: list[dict] = [{"set": {"field": "bench", "value": "ray"}}]
    if with_model:
        processors.append({"inference": {"model_id": "bench-e5", "input_output": [
            {"input_field": "text", "output_field": "e5"}]}})
    path = home / "pipeline.json"
    path.write_text(json.dumps({"processors": processors}), encoding="utf-8")
    return path


def _endpoint(allocations: int, threads: int) -> None:
    from ingest.models.api import InferenceAPI
    from ingest.models.errors import ElasticsearchError

    api = InferenceAPI()
    with contextlib.suppress(ElasticsearchError):
        api.delete("bench-e5", force=True)  # from the previous run, with other allocations
    api.put("bench-e5", {"service": "elasticsearch", "service_settings": {
        "model_id": MODEL, "num_allocations": allocations, "num_threads": threads}}, task_type="text_embedding")
    api.close()


def main(argv: list[str] | None = None) -> None:
    """Run the three jobs and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--files", type=int, default=8, help="input files = Ray splits")
    parser.add_argument("--no-model", action="store_true", help="a set processor only: pure executor overhead")
    args = parser.parse_args(argv)

    from ingest.executors.ray_job import run_on_ray
    from ingest.jobs import JobConfig, run_job
    from tests.ray.cluster import LocalRayCluster

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        home = Path(tmp)
        os.environ["INGEST_HOME"] = str(home / "home")
        (home / "home").mkdir()
        src = _write_inputs(home, args.docs, args.files)
        pipeline = _pipeline(home, not args.no_model)

        def config(index: str) -> JobConfig:
            return JobConfig(source=str(src), index=index, pipeline=str(pipeline), id_field="doc_id",
                             skip_unchanged=False, job_id=f"bench-{index}")

        rows: list[tuple[str, float, int]] = []
        if not args.no_model:
            _endpoint(1, 2)
        start = time.perf_counter()
        local = run_job(config("local"))
        rows.append(("local (1 process)" + ("" if args.no_model else ", 1 allocation x 2 threads"),
                     time.perf_counter() - start, local.indexed))
        log(f"local: {rows[-1][1]:.1f}s")

        if not args.no_model:
            _endpoint(2, 1)
        cluster = LocalRayCluster(home / "ray")
        try:
            os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"})
            start = time.perf_counter()
            cluster.start(num_cpus=2)
            started = time.perf_counter() - start
            pool = " (pool of 1-2 actors)" if args.no_model else " (2 actors x 1 thread)"
            for label, index in (("ray cold" + pool, "ray-cold"), ("ray warm" + pool, "ray-warm")):
                start = time.perf_counter()
                summary = run_on_ray(config(index), address=cluster.address)
                rows.append((label, time.perf_counter() - start, summary.indexed))
                log(f"{label}: {rows[-1][1]:.1f}s")
        finally:
            cluster.stop()
        # Other processes share the machine: a second local run brackets the Ray runs in time.
        if not args.no_model:
            _endpoint(1, 2)
        start = time.perf_counter()
        again = run_job(config("local-again"))
        rows.append(("local again (after the Ray runs)", time.perf_counter() - start, again.indexed))
        log(f"local again: {rows[-1][1]:.1f}s")

    base = (rows[0][1] + rows[-1][1]) / 2
    print(f"\n{args.docs} documents in {args.files} files, pipeline: "
          f"{'set only' if args.no_model else 'set + E5-small'}; `ray start` itself took {started:.1f}s (not counted)\n")
    print("| run | elapsed s | docs/s | indexed | elapsed / mean of the local runs |")
    print("|---|---|---|---|---|")
    for label, elapsed, indexed in rows:
        print(f"| {label} | {elapsed:.1f} | {args.docs / elapsed:.1f} | {indexed} | {elapsed / base:.2f}x |")


if __name__ == "__main__":
    main()
