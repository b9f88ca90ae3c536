"""End to end with Elasticsearch's default endpoints, before and after the optimised variants.

    python -m bench.default_endpoints [--docs 128] [--reps 2]

``ingest run`` (a real subprocess) sends SciFact abstracts through a pipeline whose two ``inference`` processors
use the preconfigured ``.multilingual-e5-small-elasticsearch`` and ``.elser-2-elasticsearch`` endpoints, into the
embedded store. "Before" is the portable (fp32) models those endpoints used until now (selected here with
``INGEST_ML_PLATFORM=portable``); "after" is what they choose on linux-x86_64, the int8 ``_linux-x86_64``
variants. Runs alternate (round-robin), each in a fresh ``$INGEST_HOME`` with the skip-unchanged cache off, so
every text reaches the models; wall time includes starting the deployments. docs/s are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data import log, sample_texts

PIPELINE = {"processors": [
    {"inference": {"model_id": ".multilingual-e5-small-elasticsearch",
                   "input_output": [{"input_field": "text", "output_field": "e5"}]}},
    {"inference": {"model_id": ".elser-2-elasticsearch",
                   "input_output": [{"input_field": "text", "output_field": "sparse"}]}},
]}
PLATFORMS = {"before (portable fp32)": "portable", "after (linux-x86_64 int8)": "linux-x86_64"}


def one_run(docs: Path, platform: str) -> tuple[float, int]:
    """Seconds for one ``ingest run`` of ``docs`` with the default endpoints on ``platform``, and the documents
    that were not indexed (dead-lettered)."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "INGEST_HOME": home, "INGEST_ML_PLATFORM": platform}
        pipeline = Path(home) / "pipeline.json"
        pipeline.write_text(json.dumps(PIPELINE), encoding="utf-8")
        cli = [sys.executable, "-m", "ingest.cli.main"]
        start = time.perf_counter()
        done = subprocess.run([*cli, "run", "--source", str(docs), "--pipeline", str(pipeline), "--index", "bench",
                               "--no-skip-unchanged"], env=env, capture_output=True, text=True)
        took = time.perf_counter() - start
        summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        if done.returncode != 0 or not summary:
            sys.exit(f"ingest run failed ({platform}): {done.stderr[-2000:]}")
        # A batch that waits past the inference timeout (30 s) on a busy machine goes to the dead-letter store
        # with its reason; it is counted, not hidden.
        log(f"  {platform}: {took:.1f}s, indexed {summary['indexed']}/{summary['read']}")
        return took, int(summary["read"]) - int(summary["indexed"])


def main(argv: list[str] | None = None) -> None:
    """Alternate before/after runs and print docs/s and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.default_endpoints", description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=128)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs.jsonl"
        docs.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n"
                                for i, t in enumerate(sample_texts(args.docs))), encoding="utf-8")
        times: dict[str, list[float]] = {label: [] for label in PLATFORMS}
        lost: dict[str, int] = dict.fromkeys(PLATFORMS, 0)
        for _ in range(args.reps):
            for label, platform in PLATFORMS.items():
                took, failed = one_run(docs, platform)
                times[label].append(took)
                lost[label] += failed
    rates = {label: args.docs / statistics.median(t) for label, t in times.items()}
    lines = [f"ingest run, {args.docs} SciFact docs, E5 + sparse default endpoints -> embedded, "
             f"median of {args.reps} alternating runs (wall time, deployment start included)",
             *(f"{label:<28} {rate:7.2f} docs/s  ({lost[label]} dead-lettered)" for label, rate in rates.items())]
    before, after = rates.values()
    lines.append(f"{'after / before':<28} {after / before:7.2f}x")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
