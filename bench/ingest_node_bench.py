"""``ingest serve --dest`` as an ingest node: ``_bulk`` throughput through the server vs straight to the cluster.

Same documents, same bulk size, same OpenSearch node; each rep runs the three variants in alternation (to share
the machine's noise): ``direct`` (POST the cluster's ``_bulk``), ``node`` (POST the server's ``_bulk``, no
pipeline: parsing, the sink, the per-item answers) and ``node+pipeline`` (a four-processor pipeline without
a model). Figures are medians of the per-rep ratios to ``direct``; wall-clock docs/s are printed as context.

``python -m bench.ingest_node_bench [--docs 20000] [--bulk 500] [--reps 3] [--opensearch URL|start]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

PIPELINE = {"processors": [
    {"set": {"field": "service.name", "value": "bench"}},
    {"lowercase": {"field": "level"}},
    {"rename": {"field": "msg", "target_field": "message"}},
    {"convert": {"field": "code", "type": "string"}},
]}


def _body(index: str, docs: list[dict[str, Any]]) -> bytes:
    lines = []
    for i, doc in enumerate(docs):
        lines.append(json.dumps({"index": {"_index": index, "_id": str(i)}}))
        lines.append(json.dumps(doc))
    return ("\n".join(lines) + "\n").encode()


def _docs(n: int) -> list[dict[str, Any]]:
    levels = ["INFO", "WARN", "ERROR", "DEBUG"]
    return [{"msg": f"request {i} served in {i % 97} ms", "level": levels[i % 4], "code": 200 + i % 5,
             "host": f"web-{i % 13}", "@timestamp": f"2026-01-01T00:{i % 60:02d}:00Z"} for i in range(n)]


def _run(client: httpx.Client, base: str, index: str, docs: list[dict[str, Any]], bulk: int,
         pipeline: str | None) -> float:
    """Seconds to send every document in bulks of ``bulk``; asserts nothing failed."""
    params = {"pipeline": pipeline} if pipeline else {}
    start = time.perf_counter()
    for lo in range(0, len(docs), bulk):
        resp = client.post(f"{base}/_bulk", params=params, content=_body(index, docs[lo:lo + bulk]),
                           headers={"content-type": "application/x-ndjson"})
        resp.raise_for_status()
        assert resp.json()["errors"] is False, resp.text[:500]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one JSON line of results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--bulk", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--opensearch", default="start", help="an OpenSearch URL, or 'start' for a test node")
    args = parser.parse_args(argv)

    import os

    from ingest.models.api import InferenceAPI
    from ingest.processors import PipelineService
    from ingest.server.app import create_app
    from tests.servers import serve

    home = Path(tempfile.mkdtemp(prefix="ingest-node-bench-"))
    os.environ["INGEST_HOME"] = str(home)
    node = None
    url = args.opensearch
    if url == "start":
        from tests.clusters import opensearch

        node = opensearch.start(home / "opensearch")
        url = node.url
    api = InferenceAPI()
    PipelineService(api.store, api).put("bench", PIPELINE)
    docs = _docs(args.docs)
    runs: dict[str, list[float]] = {"direct": [], "node": [], "node+pipeline": []}
    try:
        with serve(create_app(api, dest=url)) as server, httpx.Client(timeout=300) as client:
            for _ in range(args.reps):
                for name, base, pipeline in (("direct", url, None), ("node", server, None),
                                             ("node+pipeline", server, "bench")):
                    index = f"bench-{name.replace('+', '-')}"
                    client.delete(f"{url}/{index}")
                    runs[name].append(_run(client, base, index, docs, args.bulk, pipeline))
    finally:
        api.close()
        if node is not None:
            node.stop()
    result = {
        "docs": args.docs, "bulk": args.bulk, "reps": args.reps,
        "docs_per_s": {k: round(args.docs / statistics.median(v), 1) for k, v in runs.items()},
        "ratio_to_direct": {k: round(statistics.median(d / s for d, s in zip(runs["direct"], v, strict=True)), 3)
                            for k, v in runs.items() if k != "direct"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
