"""Kafka → ingest throughput against a real broker (issue 17).

1. No inference: N small log messages (3 partitions) through the 6-processor pipeline of
   ``bench.pipeline_bench`` into the embedded store (and OpenSearch with ``--opensearch``), by ``run_job`` with
   the Kafka source (``--until-caught-up``, acknowledgement-driven commits), beside a bare loop reading the
   same messages with a plain confluent-kafka consumer, ``json.loads`` and writing them to the same sink in
   bulks of 1,000 (no pipeline, no commits). Goal: ≥ 0.9 of the bare rate.
2. E5: SciFact texts through an ``inference`` processor (E5) into the embedded store, beside the endpoint
   called directly on the same texts in the same batches. Goal: ≥ 0.9 of model-only throughput.

Runs alternate (ours, bare, ours, …) ``--reps`` times; medians are compared. Each run reads with a new
consumer group and writes a new index.

``python -m bench.kafka_bench [--bootstrap HOST:PORT|start] [--messages 100000] [--reps 3]
[--opensearch URL|start] [--e5-docs 256] [--skip-e5]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.data import log
from bench.pipeline_bench import PIPELINE

E5 = "bench-kafka-e5"


def _topic(bootstrap: str, values: list[bytes]) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive while its futures are awaited
    for future in admin.create_topics([NewTopic(name, 3, 1)]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000})
    for i, value in enumerate(values):
        while True:
            try:
                producer.produce(name, value, partition=i % 3)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0
    return name


def _logs(n: int) -> list[bytes]:
    return [json.dumps({"msg": f"GET /Index/{i % 97}.HTML From Host-{i % 13}", "status": str(200 + (i % 5) * 100),
                        "debug": i % 2 == 0, "bytes": i * 7 % 100_000}).encode() for i in range(n)]


def bare(bootstrap: str, topic: str, n: int, dest: str) -> tuple[float, float]:
    """(msgs/s, msgs per CPU-second of this process): a plain consumer, json.loads, bulks of 1,000 to the sink;
    no pipeline, no commits."""
    from confluent_kafka import Consumer

    from ingest.sinks import open_sink
    from ingest.sinks.base import BulkAction

    sink = open_sink(dest)
    index = f"bare-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bare-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    start, cpu = time.perf_counter(), time.process_time()
    consumer.subscribe([topic])
    done = 0
    actions: list[BulkAction] = []
    while done < n:
        for msg in consumer.consume(1000, 1.0):
            if msg.error() is not None:
                continue
            actions.append(BulkAction("index", index, f"{msg.topic()}-{msg.partition()}-{msg.offset()}",
                                      json.loads(msg.value() or b"{}")))
            if len(actions) >= 1000:
                sink.write(actions)
                done += len(actions)
                actions = []
        if actions and done + len(actions) >= n:
            sink.write(actions)
            done += len(actions)
            actions = []
    sink.refresh(index)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    consumer.close()
    sink.close()
    return n / elapsed, n / used


def ours(bootstrap: str, topic: str, n: int, dest: str, pipeline: Path, batch: int) -> tuple[float, float]:
    """(msgs/s, msgs per CPU-second): ``run_job`` with the Kafka source until caught up, the pipeline, the sink."""
    from ingest.jobs import JobConfig, run_job

    group = f"ours-{uuid.uuid4().hex[:8]}"
    config = JobConfig(source=f"kafka://{bootstrap}/{topic}?group={group}&until_caught_up=true&batch_size={batch}",
                       index=f"ours-{group}", dest=dest, pipeline=str(pipeline), skip_unchanged=False,
                       job_id=group)
    start, cpu = time.perf_counter(), time.process_time()
    summary = run_job(config)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert summary.indexed == n, summary
    return n / elapsed, n / used


Rates = tuple[float, float]  # (per wall-clock second, per CPU-second of this process)


def _alternate(a: Callable[[], Rates], b: Callable[[], Rates], reps: int) -> tuple[list[Rates], list[Rates]]:
    xs, ys = [], []
    for _ in range(reps):
        xs.append(a())
        ys.append(b())
    return xs, ys


def _row(name: str, ours_rates: list[Rates], ref_rates: list[Rates], ref_name: str) -> str:
    cells = []
    for k, unit in ((0, "msgs/s"), (1, "msgs/CPU-s")):
        o, r = statistics.median(x[k] for x in ours_rates), statistics.median(x[k] for x in ref_rates)
        cells.append((o, r, unit))
    per_rep = [round(x[0] / y[0], 3) for x, y in zip(ours_rates, ref_rates, strict=True)]
    (ow, rw, _), (oc, rc, _) = cells
    return (f"| {name} | {ow:,.1f} msgs/s ({oc:,.1f}/CPU-s) | {ref_name} {rw:,.1f} msgs/s ({rc:,.1f}/CPU-s) | "
            f"{ow / rw:.3f} wall (per rep {per_rep}), {oc / rc:.3f} CPU |")


def model_only(texts: list[str], batch: int) -> Rates:
    """(docs/s, docs per CPU-second) of the E5 endpoint called directly, batch by batch."""
    from ingest.models.api import default_api

    api = default_api()
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        # A loaded machine may take longer than the default 30 s for a batch: the reference must not fail.
        api.infer(E5, texts[i : i + batch], input_type="ingest", timeout_s=600)
    return len(texts) / (time.perf_counter() - start), len(texts) / (time.process_time() - cpu)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="start", help="broker HOST:PORT, or 'start' (tests/clusters)")
    parser.add_argument("--messages", type=int, default=100_000, help="log messages (0: only the E5 run)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000, help="messages per source batch (no-inference runs)")
    parser.add_argument("--opensearch", default=None, help="OpenSearch URL, or 'start' (tests/clusters)")
    parser.add_argument("--e5-docs", type=int, default=256)
    parser.add_argument("--e5-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads for E5")
    parser.add_argument("--skip-e5", action="store_true")
    parser.add_argument("--e5-chunking", action="store_true",
                        help="keep the endpoint's default chunking (more model work than the reference)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    os.environ["INGEST_HOME"] = str(home)
    stops: list[Any] = []
    rows: list[str] = []
    try:
        if args.bootstrap == "start":
            from tests.clusters import kafka

            log("starting a Kafka broker …")
            broker = kafka.start(home / "kafka")
            stops.append(broker.stop)
            args.bootstrap = broker.bootstrap
        if args.opensearch == "start":
            from tests.clusters import opensearch

            log("starting an OpenSearch node …")
            node = opensearch.start(home / "opensearch")
            stops.append(node.stop)
            args.opensearch = node.url
        pipeline = home / "pipeline.json"
        pipeline.write_text(json.dumps(PIPELINE))
        log(f"producing {args.messages} messages …")
        topic = _topic(args.bootstrap, _logs(args.messages)) if args.messages else ""
        for label, dest in (("embedded", "embedded"), ("OpenSearch", args.opensearch)):
            if not dest or not args.messages:
                continue
            log(f"{label}: {args.reps} alternating reps …")
            mine, ref = _alternate(partial(ours, args.bootstrap, topic, args.messages, dest, pipeline, args.batch),
                                   partial(bare, args.bootstrap, topic, args.messages, dest), args.reps)
            rows.append(_row(f"{args.messages:,} log messages, 6 processors → {label}", mine, ref,
                             "bare consumer + sink"))
            log(rows[-1])  # kept if a later part fails
        if not args.skip_e5:
            rows.append(_e5(args, home))
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(home, ignore_errors=True)
    print("| run | ours (median) | reference (median) | ratio of medians |\n|---|---|---|---|")
    print("| (CPU: per CPU-second of this process, all threads — robust when the machine is shared) | | | |")
    print("\n".join(rows))


def _e5(args: argparse.Namespace, home: Path) -> str:
    from bench.data import sample_texts
    from ingest.models.api import default_api

    texts = sample_texts(args.e5_docs)
    # No chunking: the inference processor would otherwise embed every chunk of a long abstract (166 chunks for
    # 128 SciFact texts with the default sentence chunking) where the model-only reference embeds each text once,
    # truncated; the same work on both sides is what the ratio is about.
    chunking = {"strategy": "none"} if not args.e5_chunking else None
    default_api().put(E5, {"service": "elasticsearch", "service_settings": {
        "model_id": ".multilingual-e5-small", "num_allocations": 1, "num_threads": args.threads},
        **({"chunking_settings": chunking} if chunking else {})}, task_type="text_embedding")
    body = {"processors": [
        {"inference": {"model_id": E5, "input_output": [{"input_field": "text", "output_field": "e5"}]}},
        *PIPELINE["processors"][:1]]}
    pipeline = home / "e5.json"
    pipeline.write_text(json.dumps(body))
    topic = _topic(args.bootstrap, [json.dumps({"text": t}).encode() for t in texts])
    log("E5: warm-up …")
    model_only(texts[:16], args.e5_batch)
    log(f"E5: {args.reps} alternating reps …")
    mine, ref = _alternate(lambda: ours(args.bootstrap, topic, len(texts), "embedded", pipeline, args.e5_batch),
                           lambda: model_only(texts, args.e5_batch), args.reps)
    return _row(f"{len(texts)} SciFact texts, E5 inference → embedded", mine, ref, "model only")


if __name__ == "__main__":
    main()
