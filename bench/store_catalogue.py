"""The recommended write path, measured (part c of ``bench.store_options``): Lance data + a SQLite (WAL)
catalogue of ``_id → (_version, _seq_no)`` whose ``BEGIN IMMEDIATE`` is the cross-process writer lock.

Writer processes run lookup → append → delete replaced rows → catalogue upsert → commit; one is SIGKILLed
half-way; readers open the catalogue's committed Lance version. Afterwards the catalogue and the data must
agree id for id and seq_no for seq_no.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench.store_rows import batch, med, ms, pct

SEED = 10_000


def _catalogue(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def _rows(ids: list[str], versions: list[int], seqs: list[int], seed: int) -> pa.Table:
    table = batch(0, len(ids), with_vectors=True, seed=seed)
    table = table.set_column(0, "_id", pa.array(ids, pa.string()))
    table = table.set_column(1, "_version", pa.array(versions, pa.int64()))
    return table.append_column("_seq_no", pa.array(seqs, pa.int64()))


def setup(folder: Path) -> None:
    """A Lance table of ``SEED`` documents and the catalogue that describes them."""
    import lancedb

    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"seed-{i}" for i in range(SEED)]
    tbl = lancedb.connect(str(folder)).create_table("docs", _rows(ids, [1] * SEED, list(range(SEED)), 0),
                                                    mode="overwrite")
    con = _catalogue(folder / "catalog.sqlite")
    con.execute("CREATE TABLE ids (_id TEXT PRIMARY KEY, _version INTEGER, _seq_no INTEGER) WITHOUT ROWID")
    con.execute("CREATE TABLE meta (lance_version INTEGER, max_seq_no INTEGER)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO ids VALUES (?, 1, ?)", [(i, n) for n, i in enumerate(ids)])
    con.execute("INSERT INTO meta VALUES (?, ?)", [tbl.version, SEED - 1])
    con.execute("COMMIT")
    con.close()


def writer(folder: Path, seconds: float, size: int, name: str) -> None:
    """Upsert batches (half new ids, half this writer's earlier ones); print each acknowledged commit."""
    import lancedb

    tbl = lancedb.connect(str(folder)).open_table("docs")
    con = _catalogue(folder / "catalog.sqlite")
    lock = open(folder / "write.lock", "a+")  # noqa: SIM115 - held for the process's life
    new = step = recovered = 0
    lat: list[float] = []
    end = ready_go(folder, name, seconds)
    while time.perf_counter() < end:
        half = size // 2
        ids = [f"{name}-{new + j}" for j in range(half)]
        ids += [f"{name}-{j}" for j in range(min(new, size - half))] or [f"{name}-{new + half + j}"
                                                                        for j in range(size - half)]
        t = time.perf_counter()
        # The writer lock: a blocking flock (the kernel wakes a waiter on release, while SQLite's own busy
        # handler polls with growing sleeps and can miss the short gaps between another writer's batches),
        # then BEGIN IMMEDIATE.
        fcntl.flock(lock, fcntl.LOCK_EX)
        con.execute("BEGIN IMMEDIATE")
        committed_version, max_seq = con.execute("SELECT lance_version, max_seq_no FROM meta").fetchone()
        tbl.checkout_latest()
        if tbl.version != committed_version:  # a writer died between its append and its commit: undo it
            tbl.restore(committed_version)
            recovered += 1
            print("recovered", flush=True)
        marks = ",".join("?" * len(ids))
        known = {i: (v, s) for i, v, s in con.execute(
            f"SELECT _id, _version, _seq_no FROM ids WHERE _id IN ({marks})", ids).fetchall()}
        versions = [known[i][0] + 1 if i in known else 1 for i in ids]
        seqs = list(range(max_seq + 1, max_seq + 1 + len(ids)))
        tbl.add(_rows(ids, versions, seqs, step))
        if known:
            tbl.delete(f"_seq_no IN ({','.join(str(s) for _, s in known.values())})")
        con.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?)", list(zip(ids, versions, seqs, strict=True)))
        con.execute("UPDATE meta SET lance_version = ?, max_seq_no = ?", [tbl.version, seqs[-1]])
        con.execute("COMMIT")
        fcntl.flock(lock, fcntl.LOCK_UN)
        lat.append(time.perf_counter() - t)
        new += sum(1 for i in ids if i not in known)
        step += 1
        print(f"committed {new}", flush=True)
    print(f"rate {step * size / seconds:,.0f} docs/s, batch p50 {ms(med(lat))} p99 {ms(pct(lat, 0.99))}, "
          f"{recovered} recoveries", flush=True)


def crash(folder: Path) -> None:
    """A writer that dies (SIGKILL) after appending its batch to Lance, before its catalogue COMMIT: the next
    writer must roll the data back to the committed version (the batch was never acknowledged)."""
    import lancedb

    tbl = lancedb.connect(str(folder)).open_table("docs")
    con = _catalogue(folder / "catalog.sqlite")
    lock = open(folder / "write.lock", "a+")  # noqa: SIM115 - dies holding it
    fcntl.flock(lock, fcntl.LOCK_EX)
    con.execute("BEGIN IMMEDIATE")
    (max_seq,) = con.execute("SELECT max_seq_no FROM meta").fetchone()
    ids = [f"crash-{i}" for i in range(100)]
    tbl.add(_rows(ids, [1] * 100, list(range(max_seq + 1, max_seq + 101)), 99))
    os.kill(os.getpid(), signal.SIGKILL)


def ready_go(folder: Path, name: str, seconds: float) -> float:
    """Say ready, wait for the parent's go (so slow imports do not skew the run); the end time."""
    (folder / f"ready-{name}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)
    return time.perf_counter() + seconds


def start_all(folder: Path, procs: list[subprocess.Popen[str]], names: list[str]) -> None:
    """Wait until every role is ready, then let them all go at once."""
    while not all((folder / f"ready-{n}").exists() for n in names):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a role process exited before it was ready")
        time.sleep(0.05)
    (folder / "go").touch()


def reader(folder: Path, seconds: float) -> None:
    """Open the committed version, count and run a (flat) k-NN, until time is up; print the rate."""
    import lancedb

    tbl = lancedb.connect(str(folder)).open_table("docs")
    con = _catalogue(folder / "catalog.sqlite")
    rng = np.random.default_rng(0)
    lat: list[float] = []
    errors = 0
    end = ready_go(folder, "reader", seconds)
    while time.perf_counter() < end:
        t = time.perf_counter()
        try:
            (version,) = con.execute("SELECT lance_version FROM meta").fetchone()
            tbl.checkout(version)
            tbl.count_rows()
            tbl.search(rng.standard_normal(384).astype(np.float32)).limit(10).select(["_id"]).to_arrow()
        except Exception:  # any failure a user would see is counted
            errors += 1
        lat.append(time.perf_counter() - t)
    print(f"{len(lat) / seconds:.1f} reads/s (committed snapshot: count + flat k-NN), p50 {ms(pct(lat, 0.5))}, "
          f"p99 {ms(pct(lat, 0.99))}, {errors} errors")


def concurrent(work: Path, writers: int, seconds: float, size: int, kill: bool = True) -> list[str]:
    """``writers`` catalogue writers and a reader for ``seconds``; the last writer SIGKILLed half-way."""
    import lancedb

    folder = work / "c_catalogue"
    setup(folder)
    cmd = [sys.executable, "-m", "bench.store_options", "catalogue-role", str(folder), str(seconds), str(size)]
    crashed = subprocess.run([*cmd, "crash"], timeout=300).returncode  # leaves an unacknowledged append behind
    procs = [subprocess.Popen([*cmd, f"cw{i}"], stdout=subprocess.PIPE, text=True) for i in range(writers)]
    read = subprocess.Popen([*cmd, "reader"], stdout=subprocess.PIPE, text=True)
    start_all(folder, [*procs, read], [f"cw{i}" for i in range(writers)] + ["reader"])
    if kill:
        time.sleep(seconds / 2)
        procs[-1].send_signal(signal.SIGKILL)
    outputs = [p.communicate(timeout=seconds * 4 + 120)[0] for p in procs]
    lines, acknowledged = [f"c  Lance+catalogue: a writer SIGKILLed between its append and its commit "
                          f"(exit {crashed}) before the run"], 0
    for i, text in enumerate(outputs):
        done = [line for line in text.splitlines() if line.startswith("committed")]
        new = int(done[-1].split()[1]) if done else 0
        acknowledged += new
        summary = next((line for line in text.splitlines() if line.startswith("rate")), "SIGKILLed")
        rolled = sum(1 for line in text.splitlines() if line == "recovered")
        lines.append(f"c  Lance+catalogue writer cw{i}: {len(done)} commits, {new:,} new ids, rolled back "
                     f"{rolled} unacknowledged append(s); {summary}")
    lines.append(f"c  Lance+catalogue reader beside them: {read.communicate(timeout=seconds * 4 + 120)[0].strip()}")
    con = _catalogue(folder / "catalog.sqlite")
    (version,) = con.execute("SELECT lance_version FROM meta").fetchone()
    catalogue = {(i, s) for i, s in con.execute("SELECT _id, _seq_no FROM ids").fetchall()}
    tbl = lancedb.connect(str(folder)).open_table("docs")
    tbl.checkout(version)
    data = tbl.to_arrow().select(["_id", "_seq_no"]).to_pylist()
    stored = {(r["_id"], r["_seq_no"]) for r in data}
    ok = not any(i.startswith("crash-") for i, _ in stored) and stored == catalogue and len(data) == len(stored) and len(catalogue) >= SEED + acknowledged
    lines.append(f"c  Lance+catalogue after the run: {len(catalogue):,} ids in the catalogue, {len(data):,} rows at "
                 f"the committed version, acknowledged ≥ {SEED + acknowledged:,}: "
                 f"{'consistent, nothing lost' if ok else 'MISMATCH'}")
    return lines
