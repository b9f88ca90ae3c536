"""A job into the embedded store vs the bare store write (issues 13.4 and 17: data stays Arrow to the store).

N small JSONL log documents (the shape of ``bench.kafka_bench``) are read by ``run_job`` — what ``ingest run
--source FILE --dest embedded:///… --id-field id`` runs — with no pipeline and with the 6-processor pipeline of
``bench.pipeline_bench``, into a new embedded store. Two write paths of the same job alternate in one process:
``arrow`` (the store's batch write, ``EmbeddedStore.write_batch``) and ``actions`` (rows turned into bulk
actions, the per-action ``write``; the path before the batch write existed). The reference is the bare store
write: the same file read line by line with ``json.loads`` and written with ``EmbeddedStore.write`` in bulks of
1,000 (no job, no pipeline, no acknowledgements, no dead-letter store). Medians of ``--reps`` rounds.

``python -m bench.job_bench [--docs 50000] [--reps 5] [--content-ids] [--profile OUT.prof]``
(``--profile`` runs one arrow job with the pipeline under cProfile and prints the top 25 by cumulative time.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.pipeline_bench import PIPELINE


def write_docs(path: Path, n: int) -> None:
    """``n`` log documents as JSONL (the fields ``bench.kafka_bench`` sends, plus an ``id``)."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"doc-{i}", "msg": f"GET /Index/{i % 97}.HTML From Host-{i % 13}",
                                "status": str(200 + (i % 5) * 100), "debug": i % 2 == 0,
                                "bytes": i * 7 % 100_000}) + "\n")


Rates = tuple[float, float]  # (docs per wall-clock second, docs per CPU-second of this process, all threads)


def bare(src: Path, folder: Path, n: int) -> Rates:
    """Rates of ``json.loads`` + ``EmbeddedStore.write`` in bulks of 1,000."""
    from ingest.sinks.base import BulkAction
    from ingest.sinks.embedded import EmbeddedStore

    store = EmbeddedStore(folder / f"bare-{uuid.uuid4().hex[:8]}.duckdb")
    start, cpu = time.perf_counter(), time.process_time()
    actions: list[BulkAction] = []
    with src.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            actions.append(BulkAction("index", "bare", doc["id"], doc))
            if len(actions) == 1000:
                store.write(actions)
                actions = []
    if actions:
        store.write(actions)
    took, used = time.perf_counter() - start, time.process_time() - cpu
    assert store.count("bare") == n
    store.close()
    return n / took, n / used


def job(src: Path, folder: Path, n: int, *, arrow: bool, pipeline: Path | None, content_ids: bool) -> Rates:
    """Rates of ``run_job`` (opening the store included) with the batch write on or off."""
    from ingest.jobs import JobConfig, run_job
    from ingest.sinks.embedded import EmbeddedStore

    EmbeddedStore.arrow_native = arrow  # the job asks the sink for this capability
    try:
        name = f"job-{uuid.uuid4().hex[:8]}"
        config = JobConfig(source=str(src), index="bench", dest=f"embedded://{folder / name}.duckdb",
                           pipeline=str(pipeline) if pipeline else None, id_field=None if content_ids else "id",
                           skip_unchanged=False, job_id=name)
        start, cpu = time.perf_counter(), time.process_time()
        summary = run_job(config)
        took, used = time.perf_counter() - start, time.process_time() - cpu
    finally:
        EmbeddedStore.arrow_native = True
    assert summary.indexed == n, summary
    return n / took, n / used


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--content-ids", action="store_true", help="no --id-field: ids are content hashes")
    parser.add_argument("--profile", type=Path, help="profile one arrow job with the pipeline into this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["INGEST_HOME"] = str(folder / "home")  # dead letters and checkpoints of the runs
        src = folder / "docs.jsonl"
        write_docs(src, args.docs)
        pipeline = folder / "pipeline.json"
        pipeline.write_text(json.dumps(PIPELINE))
        if args.profile:
            _profile(src, folder, args.docs, pipeline, args.content_ids, args.profile)
            return
        bare(src, folder, args.docs)  # warm-up: imports, DuckDB, page cache
        rates: dict[str, list[Rates]] = {}
        for _ in range(args.reps):
            rates.setdefault("bare", []).append(bare(src, folder, args.docs))
            for label, pipe in (("no pipeline", None), ("pipeline", pipeline)):
                for arrow in (False, True):
                    key = f"{label}, {'arrow' if arrow else 'actions'}"
                    rates.setdefault(key, []).append(
                        job(src, folder, args.docs, arrow=arrow, pipeline=pipe, content_ids=args.content_ids))
        ids = "content hashes" if args.content_ids else "--id-field id"
        print(f"\n{args.docs:,} JSONL docs into the embedded store ({ids}), median of {args.reps} reps\n")
        print("| run | docs/s (median) | per rep | ÷ bare store write | docs/CPU-s | ÷ bare (CPU) |")
        print("|---|---|---|---|---|---|")
        ref = [_median([r[k] for r in rates["bare"]]) for k in (0, 1)]
        for key, xs in rates.items():
            wall, cpu = _median([x[0] for x in xs]), _median([x[1] for x in xs])
            print(f"| {key} | {wall:,.0f} | {[round(x[0]) for x in xs]} | {wall / ref[0]:.2f} | {cpu:,.0f} | "
                  f"{cpu / ref[1]:.2f} |")
        for label in ("no pipeline", "pipeline"):
            new, old = rates[f"{label}, arrow"], rates[f"{label}, actions"]
            per_rep = [round(a[0] / b[0], 2) for a, b in zip(new, old, strict=True)]
            ratio = _median([x[0] for x in new]) / _median([x[0] for x in old])
            print(f"\n{label}: arrow ÷ actions = {ratio:.2f} wall-clock (per rep {per_rep})")


def _profile(src: Path, folder: Path, n: int, pipeline: Path, content_ids: bool, out: Path) -> None:
    """One arrow job with the pipeline under cProfile, every thread of it included; top 25 by own time."""
    import cProfile
    import pstats

    stats: list[Any] = []
    main_profile = cProfile.Profile()
    main_profile.enable()
    _threads_profiled(lambda: job(src, folder, n, arrow=True, pipeline=pipeline, content_ids=content_ids), stats)
    main_profile.disable()
    merged = pstats.Stats(main_profile)
    for s in stats:
        merged.add(s)
    merged.dump_stats(str(out))
    merged.sort_stats("tottime").print_stats(25)


def _threads_profiled(run: Any, stats: list[Any]) -> None:
    """Run ``run`` with every new thread profiled too (cProfile only sees the calling thread)."""
    import cProfile
    import threading

    original = threading.Thread.run

    def profiled(self: threading.Thread) -> None:
        p = cProfile.Profile()
        p.enable()
        try:
            original(self)
        finally:
            p.disable()
            p.create_stats()
            stats.append(p)

    threading.Thread.run = profiled  # type: ignore[method-assign]
    try:
        run()
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
