"""Document writes into the embedded store three ways, in one run: ``PUT /{index}/_doc/{id}`` over HTTP (one
document per request, one keep-alive connection), ``POST /_bulk`` over HTTP (``--batch`` documents a request),
and ``EmbeddedStore.write`` directly (the same batches). Each way writes ``--docs`` new documents into a fresh
home, ``--reps`` times; medians of docs/s and their ratios to the direct writes.

``python -m bench.docapi_bench [--docs 2000] [--put-docs 300] [--batch 500] [--reps 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _doc(i: int) -> dict[str, Any]:
    return {"title": f"Title {i}", "body": "x" * 200, "n": i, "tags": ["a", "b"], "meta": {"src": "web"}}


def _direct(docs: int, batch: int) -> float:
    from ingest.sinks.base import BulkAction
    from ingest.sinks.embedded import EmbeddedStore

    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedStore(Path(folder) / "db.duckdb")
        start = time.perf_counter()
        for lo in range(0, docs, batch):
            store.write([BulkAction("index", "bench", str(i), _doc(i)) for i in range(lo, min(docs, lo + batch))])
        took = time.perf_counter() - start
        store.close()
    return docs / took


def _http(docs: int, batch: int, single: bool) -> float:
    import httpx

    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app
    from tests.servers import serve

    with tempfile.TemporaryDirectory() as home:
        os.environ["INGEST_HOME"] = home
        api = InferenceAPI()
        try:
            with serve(create_app(api)) as url, httpx.Client(base_url=url, timeout=60) as client:
                start = time.perf_counter()
                if single:
                    for i in range(docs):
                        r = client.put(f"/bench/_doc/{i}", json=_doc(i))
                        assert r.status_code == 201, r.text
                else:
                    for lo in range(0, docs, batch):
                        lines = []
                        for i in range(lo, min(docs, lo + batch)):
                            lines += [json.dumps({"index": {"_index": "bench", "_id": str(i)}}), json.dumps(_doc(i))]
                        r = client.post("/_bulk", content=("\n".join(lines) + "\n").encode(),
                                        headers={"content-type": "application/x-ndjson"})
                        assert r.status_code == 200 and not r.json()["errors"], r.text[:500]
                took = time.perf_counter() - start
        finally:
            api.close()
    return docs / took


def main(argv: list[str] | None = None) -> None:
    """Print docs/s medians of each way and their ratio to direct writes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--put-docs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    saved = os.environ.get("INGEST_HOME")
    rates: dict[str, list[float]] = {"direct EmbeddedStore.write": [], "HTTP _bulk": [], "HTTP PUT _doc": []}
    try:
        for _ in range(args.reps):  # alternating, so a slower moment of the machine hits every way
            rates["direct EmbeddedStore.write"].append(_direct(args.docs, args.batch))
            rates["HTTP _bulk"].append(_http(args.docs, args.batch, single=False))
            rates["HTTP PUT _doc"].append(_http(args.put_docs, args.batch, single=True))
    finally:
        if saved is None:
            os.environ.pop("INGEST_HOME", None)
        else:
            os.environ["INGEST_HOME"] = saved
    direct = statistics.median(rates["direct EmbeddedStore.write"])
    print(f"{'way':28} {'docs/s (median)':>16} {'vs direct':>10}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:28} {median:16,.0f} {median / direct:10.3f}")


if __name__ == "__main__":
    main()
