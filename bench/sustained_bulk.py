"""Sustained ``_bulk`` over HTTP into ``ingest serve`` as the index grows: issue 14's own measurement.

Issue 14 saw ``_bulk`` fall from 12,967 docs/s in the first minute to 6,142 in the fifth (8 clients, the index
at 2.7M documents) and asked for throughput flat within 20 % up to 10M documents. This runs that load as users
do: ``ingest serve`` in its own process on a new home, ``--clients`` processes each sending ``_bulk`` requests of
``--bulk`` documents (~300 bytes each, as ``bench.bulk_scale``) until the index holds ``--docs``. Ids are
pseudo-random hex by default (user-chosen ids: the worst order for the id catalogue), ``--ids ordered`` sort in
writing order, ``--ids auto`` leaves them to the server (Elasticsearch's generated, time-based ids).

It prints docs/s per ``--window-s`` window with the index size, and the two figures the goal is about: the rate
while the first and the last ``--band`` documents were written (by index size, so the server's start and the
last window's partial length do not count), and their ratio; then checks that ``_count`` equals the documents
acknowledged (nothing lost). Every item must succeed: a failed item stops the run.

``python -m bench.sustained_bulk [--docs 10000000] [--clients 8] [--bulk 1000] [--ids random|ordered|auto]
[--band 1000000] [--window-s 60]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import queue
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

INDEX = "sustained"


def _doc_id(i: int, ids: str) -> str | None:
    if ids == "auto":
        return None
    if ids == "ordered":
        return f"{i:012d}"
    return hashlib.blake2b(i.to_bytes(8, "little"), digest_size=10).hexdigest()


def _body(first: int, count: int, ids: str) -> bytes:
    lines = []
    for i in range(first, first + count):
        doc_id = _doc_id(i, ids)
        action: dict[str, Any] = {"_index": INDEX} if doc_id is None else {"_index": INDEX, "_id": doc_id}
        lines.append(json.dumps({"index": action}))
        lines.append(json.dumps({"title": f"document number {i}", "body": "lorem ipsum dolor sit amet " * 8,
                                 "n": i, "tags": ["alpha", "beta"], "meta": {"src": "bench"}}))
    return ("\n".join(lines) + "\n").encode()


def _client(url: str, docs: int, bulk: int, ids: str, counter: Any, events: Any) -> None:
    """Take the next block of document numbers, send it, report ``(time, count)``; until ``docs`` are taken."""
    import httpx

    with httpx.Client(base_url=url, timeout=600) as client:
        while True:
            with counter.get_lock():
                first = counter.value
                counter.value += bulk
            if first >= docs:
                return
            count = min(bulk, docs - first)
            r = client.post("/_bulk", content=_body(first, count, ids),
                            headers={"content-type": "application/x-ndjson"})
            answer = r.json() if r.status_code == 200 else {"errors": True}
            if answer.get("errors"):
                events.put(("error", r.status_code, r.text[:500]))
                return
            events.put(("ok", time.monotonic(), count))


def _rate_while(marks: list[tuple[float, int]], lo: int, hi: int) -> float:
    """docs/s while the index went from ``lo`` to ``hi`` documents (``marks``: (time, size) in order)."""
    start = next(t for t, size in marks if size >= lo)
    end = next(t for t, size in marks if size >= hi)
    return (hi - lo) / max(end - start, 1e-9)


def main(argv: list[str] | None = None) -> None:
    """Run the load, print the windows, the first/last band rates and their ratio."""
    from bench.serve_store import _serve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--ids", choices=["random", "ordered", "auto"], default="random")
    parser.add_argument("--band", type=int, default=1_000_000)
    parser.add_argument("--window-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    band = min(args.band, args.docs // 2)
    with tempfile.TemporaryDirectory(prefix="sustained-") as folder:
        home = Path(folder) / "home"
        home.mkdir(mode=0o700)
        server = _serve(home)
        try:
            url = json.loads((home / "serve.json").read_text())["url"]
            counter = mp.Value("q", 0)
            events: Any = mp.Queue()
            clients = [mp.Process(target=_client, args=(url, args.docs, args.bulk, args.ids, counter, events))
                       for _ in range(args.clients)]
            start = time.monotonic()
            for c in clients:
                c.start()
            acks: list[tuple[float, int]] = []  # (time, documents) of each acknowledged bulk
            size, window_start, window_docs = 0, start, 0
            print(f"{'minute':>6} {'index size':>12} {'docs/s':>8}   (load)", flush=True)
            while any(c.is_alive() for c in clients) or not events.empty():
                try:
                    event = events.get(timeout=1)
                except queue.Empty:
                    continue
                if event[0] == "error":
                    raise SystemExit(f"a _bulk failed ({event[1]}): {event[2]}")
                _, at, count = event
                size += count
                window_docs += count
                acks.append((at, count))
                if at - window_start >= args.window_s:
                    print(f"{(at - start) / 60:6.1f} {size:12,} {window_docs / (at - window_start):8,.0f}   "
                          f"({os.getloadavg()[0]:.1f})", flush=True)
                    window_start, window_docs = at, 0
            for c in clients:
                c.join()
            took = max(at for at, _ in acks) - start
            import httpx

            httpx.post(f"{url}/{INDEX}/_refresh")
            counted = httpx.get(f"{url}/{INDEX}/_count", timeout=600).json()["count"]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(600)
    marks, total = [(start, 0)], 0
    for at, count in sorted(acks):  # the clients' acknowledgements, in time order: the index's size over time
        total += count
        marks.append((at, total))
    first = _rate_while(marks, 0, band)
    last = _rate_while(marks, size - band, size)
    print(f"{size:,} documents in {took / 60:.1f} min ({size / took:,.0f} docs/s), {args.clients} clients, bulks of "
          f"{args.bulk}, {args.ids} ids; _count {counted:,} ({'nothing lost' if counted == size else 'LOST'})")
    print(f"first {band:,} documents: {first:,.0f} docs/s; last {band:,} (index at {size - band:,}–{size:,}): "
          f"{last:,.0f} docs/s; ratio {last / first:.2f}")


if __name__ == "__main__":
    main()
