"""A job into the embedded store with ``ingest serve`` running on the same home (so the server runs the job:
``POST /_ingest_local/job``) vs the same job alone (it opens the store itself): issue 14 item 4's "≥ 0.9" ratio.

Real processes, as a user runs them: ``ingest run --source FILE --index rN --id-field id`` into two homes, one
with a server (``ingest serve``, started once) and one without. The rounds alternate direct and served jobs, each
into a new index of its home, so both stores grow alike. ``docs_per_s`` is the job's own summary figure (its
run, not the process start); the whole command's rate (start, run, and closing the store, which checkpoints
DuckDB's write-ahead log: the server pays that during its writes instead) is printed beside it. After each served
round the benchmark waits for the server's background snapshot of that index, so it never runs beside the next
job alone. Medians of ``--reps`` rounds and their ratio.

``python -m bench.serve_store [--docs 20000] [--reps 5] [--dims 0] [--senders N] [--source file|stdin|kafka|index]
[--bootstrap HOST:PORT] [--url URL]``
(``--dims 384``: a vector per document; ``--source stdin``: the file is the job's standard input, ``--source -``,
which the CLI forwards to the server's ``POST /_ingest_local/job/stream``; ``--source kafka``: the same documents
produced once to a new topic on a broker, each job a new consumer group reading it ``--until-caught-up``;
``--source index --url URL``: indexed once into a cluster, each job a reindex of it)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _write_docs(path: Path, n: int, dims: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            doc = {"id": f"doc-{i}", "title": f"Title {i}", "body": "lorem ipsum " * 20, "n": i}
            if dims:
                doc["v"] = [round(rng.random(), 4) for _ in range(dims)]
            f.write(json.dumps(doc) + "\n")


def _job(home: Path, source: Path, index: str, senders: int | None = None, stdin: bool = False,
         remote: str | None = None) -> tuple[float, float]:
    """(the job's own docs/s, docs/s over the whole command: start, run, closing the store); ``stdin``: the
    file is the job's standard input (``--source -``); ``remote``: a Kafka topic's URL instead (a new consumer
    group per job, read until caught up) or a cluster index's (a reindex)."""
    env = {**os.environ, "INGEST_HOME": str(home)}
    more = ["--senders", str(senders)] if senders else []
    if remote and remote.startswith("kafka://"):
        spec, more = f"{remote}&group={home.name}-{index}", [*more, "--until-caught-up"]
    elif remote:  # an index of a cluster: a reindex, ids kept
        spec = remote
    else:
        spec, more = ("-" if stdin else str(source)), [*more, "--id-field", "id"]
    start = time.perf_counter()
    with source.open("rb") as given:
        proc = subprocess.run([sys.executable, "-m", "ingest.cli.main", "run", "--source", spec, "--index", index,
                               *more], env=env, capture_output=True, timeout=1800, stdin=given if stdin else None)
    if proc.returncode != 0:
        raise SystemExit(f"job failed ({proc.returncode}): {proc.stderr[-2000:].decode(errors='replace')}")
    wall = time.perf_counter() - start
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == summary["read"], summary
    return float(summary["docs_per_s"]), summary["indexed"] / wall


def _topic(bootstrap: str | None, source: Path) -> str:
    """A new 3-partition topic holding the file's documents; its URL (without the group)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    if not bootstrap:
        raise SystemExit("--source kafka needs --bootstrap HOST:PORT (python -m tests.clusters kafka starts one)")
    name = f"serve-store-{os.getpid()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the topic exists
    for future in admin.create_topics([NewTopic(name, 3, 1)]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    with source.open("rb") as lines:
        for i, line in enumerate(lines):
            while True:
                try:
                    producer.produce(name, line.rstrip(b"\n"), partition=i % 3)
                    break
                except BufferError:  # the producer's queue is full: let it send
                    producer.poll(0.1)
            producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("the documents could not be produced")
    return f"kafka://{bootstrap}/{name}?batch_size=1000"


def _index(url: str | None, source: Path) -> str:
    """A new index of the cluster at ``url`` holding the file's documents (ids kept); its URL."""
    if not url:
        raise SystemExit("--source index needs --url (python -m tests.clusters opensearch starts one)")
    name = f"serve-store-{os.getpid()}"
    lines = source.read_bytes().splitlines()
    for start in range(0, len(lines), 5000):
        body = b"".join(json.dumps({"index": {"_id": json.loads(line)["id"]}}).encode() + b"\n" + line + b"\n"
                        for line in lines[start:start + 5000])
        request = urllib.request.Request(f"{url}/{name}/_bulk", data=body, method="POST",
                                         headers={"content-type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=300) as resp:
            if json.loads(resp.read())["errors"]:
                raise SystemExit("the documents could not be indexed")
    urllib.request.urlopen(urllib.request.Request(f"{url}/{name}/_refresh", method="POST"), timeout=60).read()
    return f"{url.rstrip('/')}/{name}"


def _quiet(home: Path, index: str) -> None:
    """Wait for the server's analysts' snapshot of ``index`` (written once the index is quiet for two seconds):
    written during the next round, it would slow that round's job alone, which shares the two cores."""
    deadline = time.monotonic() + 300
    while not (home / "snapshots" / f"{index}.parquet").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)


def _serve(home: Path) -> subprocess.Popen[bytes]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INGEST_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            if (home / "serve.json").exists():
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("ingest serve did not start")


def main() -> None:
    """Run the comparison and print one line per round and the medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--dims", type=int, default=0)
    parser.add_argument("--senders", type=int, default=None, help="--senders of the served job (default: the job's)")
    parser.add_argument("--source", choices=("file", "stdin", "kafka", "index"), default="file",
                        help="the job reads the file itself, as its standard input (--source -), or the same "
                        "documents from a Kafka topic (--bootstrap)")
    parser.add_argument("--bootstrap", default=None, help="--source kafka: a broker (python -m tests.clusters kafka)")
    parser.add_argument("--url", default=None, help="--source index: a cluster to reindex the documents from "
                        "(python -m tests.clusters opensearch)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-store-") as folder:
        root = Path(folder)
        source = root / "docs.jsonl"
        _write_docs(source, args.docs, args.dims)
        remote = _topic(args.bootstrap, source) if args.source == "kafka" else None
        if args.source == "index":
            remote = _index(args.url, source)
        alone, served = root / "alone", root / "served"
        alone.mkdir(mode=0o700)
        served.mkdir(mode=0o700)
        server = _serve(served)
        direct_rates, served_rates = [], []
        try:
            for rep in range(args.reps):
                stdin = args.source == "stdin"
                direct_rates.append(_job(alone, source, f"r{rep}", stdin=stdin, remote=remote))
                served_rates.append(_job(served, source, f"r{rep}", args.senders, stdin, remote))
                _quiet(served, f"r{rep}")
                print(f"round {rep + 1}: direct {direct_rates[-1][0]:,.0f} docs/s ({direct_rates[-1][1]:,.0f} whole "
                      f"command), through the server {served_rates[-1][0]:,.0f} ({served_rates[-1][1]:,.0f})",
                      flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    for what, k in (("job's own rate", 0), ("whole command", 1)):
        d = statistics.median(r[k] for r in direct_rates)
        s = statistics.median(r[k] for r in served_rates)
        print(f"median of {args.reps}, {what}: direct {d:,.0f} docs/s, through the server {s:,.0f} docs/s: "
              f"ratio {s / d:.2f} ({args.docs:,} docs, {args.dims} dims, source {args.source}, "
              f"load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
