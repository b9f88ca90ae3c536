"""DuckDB designs for the shared store (parts a, b, d of ``bench.store_options``).

a. server-owned store: Arrow IPC batches over a local HTTP socket vs a direct insert;
b. short write transactions behind a cross-process lock: open + write + close per batch, by table size,
   and a writer and a reader process taking turns;
d. the ``_bulk`` growth: existing-version lookup + insert per batch at a small and a large table.
"""

from __future__ import annotations

import fcntl
import functools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa

from bench.store_rows import DIMS, batch, med, ms, pct, timed, update_batch

LAYOUT = "_id VARCHAR PRIMARY KEY, _version BIGINT NOT NULL, _source JSON NOT NULL"


def create(con: duckdb.DuckDBPyConnection, *, with_vectors: bool, primary_key: bool = True) -> None:
    """The embedded store's index table (``ingest/sinks/embedded/store.py``), optionally without its PK."""
    layout = LAYOUT if primary_key else LAYOUT.replace(" PRIMARY KEY", "")
    vec = f", vec FLOAT[{DIMS}]" if with_vectors else ""
    con.execute(f"CREATE TABLE docs ({layout}{vec})")


def fill(con: duckdb.DuckDBPyConnection, rows: int, *, with_vectors: bool) -> None:
    """``rows`` documents ``doc-0`` … generated inside DuckDB (fast, no Python per row)."""
    vec = f", list_transform(range({DIMS}), lambda x: (random() - 0.5)::FLOAT)::FLOAT[{DIMS}]" if with_vectors else ""
    con.execute(f"INSERT INTO docs SELECT 'doc-' || i, 1, '{{\"title\":\"Lorem\",\"text\":\"' || "
                f"repeat('word ', 40) || '\",\"n\":' || i || '}}'{vec} FROM range({rows}) t(i)")


def bulk_write(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """What ``EmbeddedStore.write`` does for one batch: version lookup, delete replaced rows, insert."""
    name = f"_b{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        con.execute("BEGIN")
        versions = dict(con.execute(f"SELECT d._id, d._version FROM docs d JOIN {name} USING (_id)").fetchall())
        if versions:
            con.execute(f"DELETE FROM docs WHERE _id IN (SELECT _id FROM {name})")
        cols = ", ".join(table.column_names)
        con.execute(f"INSERT INTO docs ({cols}) SELECT {cols} FROM {name}")
        con.execute("COMMIT")
    finally:
        con.unregister(name)


# -- a. server-owned store -------------------------------------------------------------------------------

def ipc_bytes(table: pa.Table) -> bytes:
    """One Arrow IPC stream holding ``table``."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def serve_arrow(db: str, port: int) -> None:
    """A minimal store server (Starlette, under FastAPI in the product): ``POST /_arrow`` takes an Arrow IPC
    stream and writes it as ``_bulk`` does."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    con = duckdb.connect(db)

    async def write(request: Request) -> Response:
        table = pa.ipc.open_stream(await request.body()).read_all()
        bulk_write(con, table)
        return Response(b'{"errors":false}', status_code=200, media_type="application/json")

    app = Starlette(routes=[Route("/_arrow", write, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def part_a(work: Path, batches: int, size: int) -> list[str]:
    """Per-batch time writing ``size`` rows with vectors directly vs through a local server, interleaved
    batch by batch (both tables grow alike; load from other processes hits both sides)."""
    tables = [batch(i * size, size, with_vectors=True) for i in range(batches)]
    con = duckdb.connect(str(work / "a_direct.duckdb"))
    create(con, with_vectors=True)
    served_db = work / "a_served.duckdb"
    with duckdb.connect(str(served_db)) as init:
        create(init, with_vectors=True)
    encode = med([timed(functools.partial(ipc_bytes, t)) for t in tables])
    payload = ipc_bytes(tables[0])
    decode = med([timed(lambda: pa.ipc.open_stream(payload).read_all()) for _ in range(5)])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.store_options", "serve-arrow", str(served_db), str(port)])
    direct: list[float] = []
    served: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(600):  # the server process starts slowly on a loaded machine
                try:
                    client.post("/_arrow", content=ipc_bytes(batch(10**9, 1, with_vectors=True)))
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the Arrow server did not start within 60 s")
            for t in tables:
                direct.append(timed(functools.partial(bulk_write, con, t)))
                start = time.perf_counter()
                client.post("/_arrow", content=ipc_bytes(t)).raise_for_status()
                served.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(10)
        con.close()
    d, v = med(direct), med(served)
    return [
        f"a  direct insert            {size / d:>9,.0f} docs/s  (median of {batches} batches of {size} rows, "
        f"384-dim vectors; {ms(d)} per batch)",
        f"a  via local HTTP Arrow IPC {size / v:>9,.0f} docs/s  = {d / v:.2f} of direct ({ms(v)} per batch); "
        f"batch {len(payload) / 1e6:.2f} MB, encode {ms(encode)}, decode {ms(decode)}",
    ]


# -- b. short transactions behind a cross-process lock ----------------------------------------------------

@contextmanager
def store_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """flock on ``path``: exclusive for a writer, shared for readers (POSIX; Windows would need msvcrt)."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_write_close(db: Path, table: pa.Table, *, setup: str = "") -> dict[str, float]:
    """One batch as a separate writer would do it: lock, open, write, close; seconds per phase."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    with store_lock(db.with_suffix(".lock")):
        con = duckdb.connect(str(db))
        if setup:
            con.execute(setup)
        out["open"] = time.perf_counter() - start
        t = time.perf_counter()
        bulk_write(con, table)
        out["write"] = time.perf_counter() - t
        t = time.perf_counter()
        con.close()
        out["close"] = time.perf_counter() - t
    out["total"] = time.perf_counter() - start
    return out


def part_b(work: Path, sizes: list[int], size: int, reps: int) -> list[str]:
    """open+write+close of one ``size``-row batch with vectors, at each table size."""
    lines = []
    for rows in sizes:
        db = work / f"b_{rows}.duckdb"
        con = duckdb.connect(str(db))
        create(con, with_vectors=True)
        start = time.perf_counter()
        fill(con, rows, with_vectors=True)
        fill_s = time.perf_counter() - start
        con.close()
        runs = [open_write_close(db, update_batch(size, rows, step, with_vectors=True)) for step in range(reps)]
        phase = {k: med([r[k] for r in runs]) for k in runs[0]}
        mb = db.stat().st_size / 1e6
        lines.append(f"b  {rows:>10,} rows ({mb:,.0f} MB, filled in {fill_s:.0f}s): open {ms(phase['open'])}, "
                     f"write {ms(phase['write'])}, close {ms(phase['close'])}, total {ms(phase['total'])} "
                     f"per {size}-row batch (median of {reps}) = {size / phase['total']:,.0f} docs/s")
    return lines


def turn_taking(work: Path, seconds: float, size: int) -> list[str]:
    """A writer process (open/write/close per batch, exclusive lock) beside a reader process (shared lock,
    read-only open, one count + one point lookup): each one's rate alone and together."""
    db = work / "b_turns.duckdb"
    con = duckdb.connect(str(db))
    create(con, with_vectors=True)
    fill(con, 100_000, with_vectors=True)
    con.close()
    cmd = [sys.executable, "-m", "bench.store_options", "turn", str(db), str(seconds), str(size)]

    def run(*roles: str) -> dict[str, str]:
        procs = {r: subprocess.Popen([*cmd, r], stdout=subprocess.PIPE, text=True) for r in roles}
        return {r: p.communicate(timeout=seconds * 4 + 120)[0].strip() for r, p in procs.items()}

    alone = run("writer") | run("reader")
    both = run("writer", "reader")
    return [f"b  turn-taking at 100k rows, {seconds:.0f}s each: writer alone {alone['writer']}; reader alone "
            f"{alone['reader']}; together: writer {both['writer']}, reader {both['reader']}"]


def turn(db: str, seconds: float, size: int, role: str) -> None:
    """One side of ``turn_taking`` (run as a subprocess); prints its rate."""
    path = Path(db)
    end = time.perf_counter() + seconds
    lat: list[float] = []
    step = 0
    while time.perf_counter() < end:
        t = time.perf_counter()
        if role == "writer":
            open_write_close(path, update_batch(size, 100_000, step + os.getpid() % 1000 * 1000, with_vectors=True))
        else:
            with store_lock(path.with_suffix(".lock"), shared=True):
                con = duckdb.connect(db, read_only=True)
                con.execute("SELECT count(*) FROM docs").fetchall()
                con.execute("SELECT _source FROM docs WHERE _id = 'doc-77'").fetchall()
                con.close()
        lat.append(time.perf_counter() - t)
        step += 1
    unit_name = "docs/s" if role == "writer" else "reads/s"
    rate = step * (size if role == "writer" else 1) / seconds
    print(f"{rate:,.0f} {unit_name} (p50 {ms(pct(lat, 0.5))}, p99 {ms(pct(lat, 0.99))})")


# -- d. the _bulk growth -----------------------------------------------------------------------------------

def growth_duckdb(work: Path, sizes: list[int], size: int, reps: int, primary_key: bool) -> list[str]:
    """Version lookup + delete + insert of one batch (half existing ids), by table size, without vectors."""
    label = "DuckDB, _id PRIMARY KEY (today)" if primary_key else "DuckDB, no PRIMARY KEY"
    out = []
    for rows in sizes:
        db = work / f"d_{rows}_{int(primary_key)}.duckdb"
        con = duckdb.connect(str(db))
        create(con, with_vectors=False, primary_key=primary_key)
        fill(con, rows, with_vectors=False)
        con.execute("CHECKPOINT")
        lookups, writes = [], []
        for step in range(reps):
            table = update_batch(size, rows, step, with_vectors=False)
            con.register("_b", table)
            start = time.perf_counter()
            con.execute("SELECT d._id, d._version FROM docs d JOIN _b USING (_id)").fetchall()
            lookups.append(time.perf_counter() - start)
            con.unregister("_b")
            start = time.perf_counter()
            bulk_write(con, table)
            writes.append(time.perf_counter() - start)
        con.close()
        out.append(f"d  {label:<34} {rows:>10,} rows: lookup {ms(med(lookups))}, "
                   f"lookup+delete+insert {ms(med(writes))} per {size}")
    return out


def growth_sqlite(work: Path, sizes: list[int], size: int, reps: int) -> list[str]:
    """A SQLite (WAL) id catalogue ``_id → (_version, _seq_no, segment)`` beside append-only data segments:
    the lookup + upsert of one batch, by table size (the segment append itself does not grow)."""
    import sqlite3

    out = []
    for rows in sizes:
        path = work / f"d_{rows}.sqlite"
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-262144")  # 256 MB: the id B-tree's inner pages stay cached
        con.execute("PRAGMA mmap_size=1073741824")
        con.execute("CREATE TABLE ids (_id TEXT PRIMARY KEY, _version INTEGER, _seq_no INTEGER, seg INTEGER)"
                    " WITHOUT ROWID")
        con.execute("BEGIN")
        con.executemany("INSERT INTO ids VALUES (?, 1, ?, 0)", ((f"doc-{i}", i) for i in range(rows)))
        con.execute("COMMIT")
        times = []
        for step in range(reps):
            ids = update_batch(size, rows, step, with_vectors=False).column("_id").to_pylist()

            start = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            marks = ",".join("?" * len(ids))
            known = dict(con.execute(f"SELECT _id, _version FROM ids WHERE _id IN ({marks})", ids).fetchall())
            seq = rows + step * size
            con.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?)",
                            [(i, known.get(i, 0) + 1, seq + n, step + 1) for n, i in enumerate(ids)])
            con.execute("COMMIT")
            times.append(time.perf_counter() - start)
        con.close()
        out.append(f"d  {'SQLite WAL id catalogue':<34} {rows:>10,} rows: lookup+upsert {ms(med(times))} per {size}")
    return out
