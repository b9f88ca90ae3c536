"""The cost of Elasticsearch's dynamic mapping in the embedded store: the same bulk writes with the mapping
check (``ingest.sinks.bulk.mapping``) and with it switched off, alternating, medians; plus the check alone
next to the ``json.dumps`` of ``_source`` that every write does anyway.

``python -m bench.mapping_bench [--docs 5000] [--reps 8]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _docs(n: int) -> list[dict[str, Any]]:
    return [{"id": f"d{i}", "title": f"Title {i}", "body": "x" * 200, "n": i, "tags": ["a", "b"],
             "meta": {"src": "web", "ts": "2024-01-01T00:00:00Z"}} for i in range(n)]


def _write(docs: list[dict[str, Any]], mapping: bool) -> float:
    import ingest.sinks.bulk.apply as bulk
    from ingest.sinks.base import BulkAction
    from ingest.sinks.bulk.mapping import map_document
    from ingest.sinks.embedded import EmbeddedStore

    bulk.map_document = map_document if mapping else (lambda *a, **k: False)  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = EmbeddedStore(Path(folder) / "db.duckdb")
            start = time.perf_counter()
            for lo in range(0, len(docs), 1000):
                store.write([BulkAction("index", "i", d["id"], d) for d in docs[lo:lo + 1000]])
            took = time.perf_counter() - start
            store.close()
    finally:
        bulk.map_document = map_document  # type: ignore[assignment]
    return took


def main(argv: list[str] | None = None) -> None:
    """Print the medians and their ratio."""
    from ingest.sinks.bulk.documents import dumps
    from ingest.sinks.bulk.mapping import map_document

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=8)
    args = parser.parse_args(argv)
    docs = _docs(args.docs)
    _write(docs, True)
    _write(docs, False)  # warm-up: imports, the first DuckDB file
    on, off = [], []
    for rep in range(args.reps):  # alternate which goes first: the first of a pair runs slower
        pair = (True, False) if rep % 2 else (False, True)
        for mapping in pair:
            (on if mapping else off).append(_write(docs, mapping))
    props: dict[str, Any] = {}
    start = time.perf_counter()
    for i, doc in enumerate(docs):
        map_document(doc, props, str(i))
    check = time.perf_counter() - start
    start = time.perf_counter()
    for doc in docs:
        dumps(doc)
    dump = time.perf_counter() - start
    print(f"embedded store writes of {args.docs} docs: median {statistics.median(off):.3f}s without the mapping "
          f"check, {statistics.median(on):.3f}s with (ratio {statistics.median(on) / statistics.median(off):.2f}); "
          f"the check alone {check / args.docs * 1e6:.1f} us/doc vs json.dumps {dump / args.docs * 1e6:.1f} us/doc")


if __name__ == "__main__":
    main()
