"""LanceDB as the shared store (parts c and d of ``bench.store_options``): concurrent writer and reader
processes with a SIGKILL, and the ``_bulk`` upsert cost as the table grows."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench.store_catalogue import ready_go, start_all
from bench.store_rows import batch, med, ms, pct, update_batch


def _upsert(tbl: object, table: pa.Table) -> object:
    return (tbl.merge_insert("_id").when_matched_update_all()  # type: ignore[attr-defined]
            .when_not_matched_insert_all().execute(table))


def growth_lance(work: Path, sizes: list[int], size: int, reps: int) -> list[str]:
    """merge_insert on ``_id`` (BTREE scalar index) of one batch, half existing ids, by table size; and a
    plain append."""
    import lancedb

    out = []
    for rows in sizes:
        db = lancedb.connect(str(work / f"d_lance_{rows}"))
        tbl = db.create_table("docs", schema=batch(0, 0, with_vectors=False).schema, mode="overwrite")
        step = 500_000
        for first in range(0, rows, step):
            tbl.add(batch(first, min(step, rows - first), with_vectors=False))
        tbl.create_scalar_index("_id", index_type="BTREE")
        upserts: list[float] = []
        appends: list[float] = []
        for s in range(reps):
            table = update_batch(size, rows, s, with_vectors=False)
            start = time.perf_counter()
            _upsert(tbl, table)
            upserts.append(time.perf_counter() - start)
        for s in range(reps):
            table = batch(rows + (reps + s) * size, size, with_vectors=False)
            start = time.perf_counter()
            tbl.add(table)
            appends.append(time.perf_counter() - start)
        out.append(f"d  {'LanceDB merge_insert (BTREE _id)':<34} {rows:>10,} rows: upsert {ms(med(upserts))}, "
                   f"append {ms(med(appends))} per {size}")
    return out


def concurrent(work: Path, writers: int, seconds: float, size: int) -> list[str]:
    """``writers`` processes upserting with Lance's own optimistic commits and one reader, on one table for
    ``seconds``; the last writer is SIGKILLed half-way. Checks afterwards that every batch a writer reported
    committed is in the table."""
    import lancedb

    path = work / "c_lance_conc"
    db = lancedb.connect(str(path))
    db.create_table("docs", batch(0, 10_000, with_vectors=True), mode="overwrite")
    cmd = [sys.executable, "-m", "bench.store_options", "lance-role", str(path), str(seconds), str(size)]
    procs = [subprocess.Popen([*cmd, f"w{i}"], stdout=subprocess.PIPE, text=True) for i in range(writers)]
    reader = subprocess.Popen([*cmd, "reader"], stdout=subprocess.PIPE, text=True)
    start_all(path, [*procs, reader], [f"w{i}" for i in range(writers)] + ["reader"])
    time.sleep(seconds / 2)
    procs[-1].send_signal(signal.SIGKILL)
    outputs = [p.communicate(timeout=seconds * 4 + 120)[0] for p in procs]
    read_out = reader.communicate(timeout=seconds * 4 + 120)[0].strip()
    committed_new = 0
    lines = []
    for i, text in enumerate(outputs):
        done = [line for line in text.splitlines() if line.startswith("committed")]
        new = int(done[-1].split()[1]) if done else 0
        committed_new += new
        summary = next((line for line in text.splitlines() if line.startswith("rate")), "SIGKILLed")
        lines.append(f"c  LanceDB writer w{i}: {len(done)} commits, {new:,} new ids; {summary}")
    tbl = lancedb.connect(str(path)).open_table("docs")
    count = tbl.count_rows()
    ids = tbl.to_arrow().column("_id")
    distinct = len(pa.compute.unique(ids))
    lines.append(f"c  LanceDB reader beside them: {read_out}")
    lines.append(f"c  LanceDB after the run: {count:,} rows ({distinct:,} distinct _id), expected ≥ "
                 f"{10_000 + committed_new:,} (10,000 + new ids reported committed): "
                 f"{'nothing lost' if count >= 10_000 + committed_new and distinct == count else 'LOSS/DUPLICATES'}")
    return lines


def lance_role(path: str, seconds: float, size: int, role: str) -> None:
    """One process of ``concurrent``: a writer upserting (half new ids, half its own earlier ids) and
    printing each commit, or a reader opening the latest version and running a count and a k-NN."""
    import lancedb

    tbl = lancedb.connect(path).open_table("docs")
    lat: list[float] = []
    end = ready_go(Path(path), role, seconds)
    if role == "reader":
        errors, rng = 0, np.random.default_rng(0)
        while time.perf_counter() < end:
            t = time.perf_counter()
            try:
                tbl.checkout_latest()
                tbl.count_rows()
                tbl.search(rng.standard_normal(384).astype(np.float32)).limit(10).select(["_id"]).to_arrow()
            except Exception:  # any failure a user would see is counted
                errors += 1
            lat.append(time.perf_counter() - t)
        print(f"{len(lat) / seconds:.1f} reads/s (count + flat k-NN), p50 {ms(pct(lat, 0.5))}, "
              f"p99 {ms(pct(lat, 0.99))}, {errors} errors")
        return
    new = step = retries = 0
    while time.perf_counter() < end:
        half = size // 2
        fresh = [f"{role}-{new + j}" for j in range(half)]
        again = [f"{role}-{j}" for j in range(min(new, size - half))] or [f"{role}-{new + half + j}"
                                                                             for j in range(size - half)]
        table = batch(0, len(fresh) + len(again), with_vectors=True, seed=step)
        table = table.set_column(0, "_id", pa.array(fresh + again, pa.string()))
        t = time.perf_counter()
        result = _upsert(tbl, table)
        lat.append(time.perf_counter() - t)
        retries += int(getattr(result, "num_attempts", 1)) - 1
        new += int(getattr(result, "num_inserted_rows", 0))
        step += 1
        print(f"committed {new}", flush=True)
    print(f"rate {step * size / seconds:,.0f} docs/s, upsert p50 {ms(med(lat))} p99 {ms(pct(lat, 0.99))}, "
          f"{retries} commit retries", flush=True)
