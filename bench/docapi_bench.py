"""Document writes into the embedded store three ways, in one run: ``PUT /{index}/_doc/{id}`` over HTTP (one
document per request, one keep-alive connection), ``POST /_bulk`` over HTTP (``--batch`` documents a request),
and ``EmbeddedStore.write`` directly (the same batches). The server is ``ingest serve`` in its own process, as
users run it. Each way writes ``--docs`` new documents into a fresh
home, ``--reps`` times; medians of docs/s and their ratios to the direct writes. Each way first writes one
document into another index (the server opens its store then), so the rates are of an open store; ``--docs``
large enough (20,000) keeps a ``_bulk`` run's first-request costs (the index created) a small share.

``--elasticsearch URL`` adds the same two HTTP ways into a real Elasticsearch node (its defaults: one shard, the
translog fsynced per request), the baseline an Elasticsearch user knows; on this machine it shares the cores.

``python -m bench.docapi_bench [--docs 20000] [--put-docs 2000] [--batch 500] [--reps 3] [--elasticsearch URL]``
"""

from __future__ import annotations

import argparse
import json
import signal
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
        store.write([BulkAction("index", "warmup", "0", _doc(0))])  # as the server's warm-up request
        start = time.perf_counter()
        for lo in range(0, docs, batch):
            store.write([BulkAction("index", "bench", str(i), _doc(i)) for i in range(lo, min(docs, lo + batch))])
        took = time.perf_counter() - start
        store.close()
    return docs / took


def _send(client: Any, docs: int, batch: int, single: bool, index: str) -> float:
    """Write ``docs`` new documents through ``client`` (an ``httpx.Client`` on a server); docs/s."""
    start = time.perf_counter()
    if single:
        for i in range(docs):
            r = client.put(f"/{index}/_doc/{i}", json=_doc(i))
            assert r.status_code == 201, r.text
    else:
        for lo in range(0, docs, batch):
            lines = []
            for i in range(lo, min(docs, lo + batch)):
                lines += [json.dumps({"index": {"_index": index, "_id": str(i)}}), json.dumps(_doc(i))]
            r = client.post("/_bulk", content=("\n".join(lines) + "\n").encode(),
                            headers={"content-type": "application/x-ndjson"})
            assert r.status_code == 200 and not r.json()["errors"], r.text[:500]
    return docs / (time.perf_counter() - start)


def _elasticsearch(url: str, docs: int, batch: int, single: bool, rep: int) -> float:
    """The same writes into a real Elasticsearch node at ``url`` (a new index each time, its defaults: one
    shard, the translog fsynced per request), as the baseline a user knows."""
    import httpx

    index = f"docapi-bench-{'put' if single else 'bulk'}-{rep}"
    with httpx.Client(base_url=url, timeout=120) as client:
        client.delete(f"/{index}")
        client.put("/warmup/_doc/0", json=_doc(0))
        try:
            return _send(client, docs, batch, single, index)
        finally:
            client.delete(f"/{index}")


def _http(docs: int, batch: int, single: bool) -> float:
    """The writes into ``ingest serve`` run as a user runs it: its own process on a new home."""
    import httpx

    from bench.serve_store import _serve

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir(mode=0o700)
        server = _serve(home)
        try:
            url = json.loads((home / "serve.json").read_text())["url"]
            with httpx.Client(base_url=url, timeout=60) as client:
                # the server opens its store on the first write: not part of the rate (the direct way opens
                # its store before its clock starts too)
                r = client.put("/warmup/_doc/0", json=_doc(0))
                assert r.status_code == 201, r.text
                return _send(client, docs, batch, single, "bench")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


def main(argv: list[str] | None = None) -> None:
    """Print docs/s medians of each way and their ratio to direct writes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--put-docs", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--elasticsearch", metavar="URL", help="also the same writes into this Elasticsearch node "
                        "(`python -m tests.clusters elasticsearch` starts one)")
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {"direct EmbeddedStore.write": [], "HTTP _bulk": [], "HTTP PUT _doc": []}
    if args.elasticsearch:
        rates.update({"Elasticsearch node _bulk": [], "Elasticsearch node PUT _doc": []})
    for rep in range(args.reps):  # alternating, so a slower moment of the machine hits every way
        rates["direct EmbeddedStore.write"].append(_direct(args.docs, args.batch))
        rates["HTTP _bulk"].append(_http(args.docs, args.batch, single=False))
        rates["HTTP PUT _doc"].append(_http(args.put_docs, args.batch, single=True))
        if args.elasticsearch:
            rates["Elasticsearch node _bulk"].append(
                _elasticsearch(args.elasticsearch, args.docs, args.batch, False, rep))
            rates["Elasticsearch node PUT _doc"].append(
                _elasticsearch(args.elasticsearch, args.put_docs, args.batch, True, rep))
    direct = statistics.median(rates["direct EmbeddedStore.write"])
    print(f"{'way':28} {'docs/s (median)':>16} {'vs direct':>10}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:28} {median:16,.0f} {median / direct:10.3f}")


if __name__ == "__main__":
    main()
