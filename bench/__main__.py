"""``python -m bench``: every benchmark in turn with its default (bounded) sizes.

Each one is also runnable alone (``python -m bench.runtime``, ``python -m bench.retrieval``, ...); a
benchmark that fails is reported and the others still run. Exit status 1 if any failed.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback

# The runtime benchmark and retrieval check first: they are the foundation the others build on.
BENCHMARKS = ("runtime", "retrieval", "variants", "deployment_memory", "default_endpoints", "pipeline_bench",
              "ingest_bench", "mapping_bench", "sink_bench", "job_bench", "http_bench", "remote_bench", "ray_bench",
              "auth_bench", "kafka_bench", "semantic_bench")


def main() -> int:
    """Run each available benchmark; return the process exit status."""
    failed = []
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                continue  # not part of this checkout
            raise
        print(f"\n=== bench.{name} ===", flush=True)
        try:
            run = module.main
            run([]) if inspect.signature(run).parameters else run()
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
