"""``_bulk`` into the embedded store as an index grows: docs/s of a window at the start and a window at the end.

Issue 14 asks for ``_bulk`` flat within 20 % up to 10M documents. A run fills an index fast with the store's Arrow
batch writes (``write_batch``, ``--fill-batch`` rows a call, new ids) and then writes windows of ``--window``
documents through ``EmbeddedStore.write`` (the per-action path ``POST /_bulk`` takes, ``--batch`` actions a
request) at its end, and into an empty index. Each window's docs/s and the median batch time
are printed, and their ratio (last / first). ``--updates F`` makes that fraction of each measured batch rewrite an
existing id (``index`` of the same id: a new version), drawn from the last ``--recent K`` ids written, or from the
whole history when ``--recent 0``. Ids are pseudo-random hex (user-chosen ids: the worst order for B-trees), or
with ``--ids ordered`` sort in writing order (as Elasticsearch's generated ids, which are time-based).

``python -m bench.bulk_scale --docs 10000000 --window 100000 --rounds 10 [--updates 0.1 --recent 100000] [--dir DIR]``
(``--dir`` keeps the store; with ``--fill-from A --fill-to B`` a kept store is filled on from document A.) The
first window is written into a new, empty store, alternating ``--rounds`` times with windows at the end of the big
one, so both see the same load on a shared machine; medians are reported.

The id catalogue holds up to 500,000 changes in memory and then writes them (``idcatalogue.PENDING``); at 10M that
write costs several µs per change (a random id dirties a random leaf of a 350 MB tree), so a window shorter than
that would hide it. Each side's time therefore also counts the catalogue writes of its documents: a fresh window
ends with its flush, and the big store's run ends with a timed flush of what is still held (plus any flush that
happened inside its windows). The amortised ratio (all documents / all time, flushes included) is the headline;
``--window 100000 --rounds 5`` writes exactly one ``PENDING``'s worth at the end of the big index.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

INDEX = "bulkscale"


ORDERED = False  # --ids ordered: ids that sort in writing order, as Elasticsearch's generated (time-based) ids do


def doc_id(i: int) -> str:
    """The id of document ``i`` (stable across runs; unordered unless ``--ids ordered``)."""
    if ORDERED:
        return f"{i:012d}"
    return hashlib.blake2b(i.to_bytes(8, "little"), digest_size=10).hexdigest()


def _doc(i: int, version: int = 1) -> dict[str, Any]:
    # ~300 bytes of _source, as in issue 14's sustained run
    return {"title": f"document number {i}", "body": "lorem ipsum dolor sit amet " * 8, "n": i, "v": version,
            "tags": ["alpha", "beta"], "meta": {"src": "bench"}}


def window(store: Any, first: int, count: int, batch: int, updates: float, recent: int, rng: random.Random
           ) -> tuple[float, float, int, float]:
    """Write ``count`` new documents from number ``first`` (plus the update mix) through ``write``; docs/s,
    median seconds per batch, the number of updates and the seconds taken."""
    from ingest.sinks.base import BulkAction

    times = []
    written = 0
    updated = 0
    nxt = first
    started = time.perf_counter()
    while nxt < first + count:
        size = min(batch, first + count - nxt)
        n_upd = int(size * updates) if nxt > 0 else 0
        actions = [BulkAction("index", INDEX, doc_id(i), _doc(i)) for i in range(nxt, nxt + size - n_upd)]
        low = 0 if recent <= 0 else max(0, nxt - recent)
        olds = {rng.randrange(low, nxt) for _ in range(n_upd)} if n_upd else set()
        actions += [BulkAction("index", INDEX, doc_id(i), _doc(i, 2)) for i in olds]
        t = time.perf_counter()
        results = store.write(actions)
        times.append(time.perf_counter() - t)
        bad = [r for r in results if r.status >= 300]
        if bad:
            raise SystemExit(f"write failed: {bad[0]}")
        nxt += size - n_upd
        written += len(actions)
        updated += len(olds)
    took = time.perf_counter() - started
    return written / took, statistics.median(times), updated, took


def fill(store: Any, start: int, stop: int, rows: int) -> float:
    """New documents ``start``..``stop`` through ``write_batch``; docs/s."""
    import pyarrow as pa

    began = time.perf_counter()
    for lo in range(start, stop, rows):
        hi = min(stop, lo + rows)
        table = pa.Table.from_pylist([_doc(i) for i in range(lo, hi)])
        results = store.write_batch(INDEX, table, [doc_id(i) for i in range(lo, hi)])
        if any(r.status >= 300 for r in results):
            raise SystemExit(f"fill failed: {next(r for r in results if r.status >= 300)}")
        if (lo - start) // rows % 20 == 0:
            print(f"  filled to {hi:,} ({(hi - start) / (time.perf_counter() - began):,.0f} docs/s)", flush=True)
    return (stop - start) / max(time.perf_counter() - began, 1e-9)


def fresh_window(args: argparse.Namespace, rng: random.Random) -> tuple[float, float, float, float]:
    """A window written into a new, empty store (the start of an index); docs/s, median seconds per bulk, the
    documents written and the seconds of the window with its catalogue flush."""
    from ingest.sinks.embedded import EmbeddedStore

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        store = EmbeddedStore(Path(tmp) / "indices.duckdb", memory_limit="1GB")
        try:
            rate, med, _, took = window(store, 0, args.window, args.batch, args.updates, args.recent, rng)
            flushed = flush(store)
        finally:
            store.close()
    return rate, med, rate * took, took + flushed


def flush(store: Any) -> float:
    """Seconds to write the id catalogue's changes held in memory (counted in each side's time)."""
    began = time.perf_counter()
    # (an older store without flush_ids: its catalogue directly, so a baseline is measured the same way)
    (getattr(store, "flush_ids", None) or store._catalogue.flush)()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (arguments in the module docstring)."""
    from ingest.sinks.embedded import EmbeddedStore

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--fill-batch", type=int, default=50_000)
    parser.add_argument("--updates", type=float, default=0.0)
    parser.add_argument("--recent", type=int, default=100_000)
    parser.add_argument("--fill-from", type=int, default=None)
    parser.add_argument("--fill-to", type=int, default=None)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--tmp", default=None, help="where the fresh stores go (default: the system's temp folder)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ids", choices=("random", "ordered"), default="random")
    args = parser.parse_args(argv)
    global ORDERED
    ORDERED = args.ids == "ordered"
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        store = EmbeddedStore(folder / "indices.duckdb", memory_limit="1GB")
        try:
            mix = f"updates {args.updates:.0%} from " + ("the whole history" if args.recent <= 0
                                                          else f"the last {args.recent:,} ids")
            print(f"docs {args.docs:,}, windows of {args.window:,} x {args.rounds}, bulks of {args.batch}, {mix}",
                  flush=True)
            have = store.count(INDEX) if store.index_exists(INDEX) else 0
            start = args.fill_from if args.fill_from is not None else have
            stop = args.fill_to if args.fill_to is not None else args.docs - args.window * args.rounds
            if stop > start:
                print(f"fill {start:,} → {stop:,}: {fill(store, start, stop, args.fill_batch):,.0f} docs/s", flush=True)
            at = max(stop, start)
            flush(store)  # the fill's changes: not the windows'
            began = time.perf_counter()  # once per process: the id filter is built on an index's first lookup
            store.get_docs(INDEX, [doc_id(0)])
            print(f"first lookup (builds the id filter): {time.perf_counter() - began:.2f} s", flush=True)
            firsts, lasts, med1, med2 = [], [], [], []
            took1 = took2 = docs1 = docs2 = 0.0
            for _ in range(args.rounds):  # interleaved, so both see the same load on a shared machine
                rate, med, docs, took = fresh_window(args, rng)
                firsts.append(rate)
                med1.append(med)
                took1 += took
                docs1 += docs
                last, med, upd, took = window(store, at, args.window, args.batch, args.updates, args.recent, rng)
                lasts.append(last)
                med2.append(med)
                took2 += took
                docs2 += last * took
                print(f"  empty index: {rate:,.0f} docs/s (median bulk {med1[-1] * 1000:.1f} ms); "
                      f"at {at:,} → {at + args.window:,}: {last:,.0f} docs/s (median bulk {med * 1000:.1f} ms, "
                      f"{upd} updates)", flush=True)
                at += args.window
            held = flush(store)
            took2 += held
            first, last = statistics.median(firsts), statistics.median(lasts)
            print(f"median docs/s: first window {first:,.0f}, last window {last:,.0f}; ratio last/first "
                  f"{last / first:.2f} (median bulk {statistics.median(med1) / statistics.median(med2):.2f}); "
                  f"{store.count(INDEX):,} documents", flush=True)
            amort1, amort2 = docs1 / took1, docs2 / took2
            print(f"amortised with the catalogue's writes: empty index {amort1:,.0f} docs/s, big index "
                  f"{amort2:,.0f} docs/s (final flush {held:.2f} s); ratio {amort2 / amort1:.2f}; peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB", flush=True)
        finally:
            store.close()


if __name__ == "__main__":
    main()
