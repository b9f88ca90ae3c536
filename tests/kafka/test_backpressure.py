"""Backpressure against a real broker, in-process: at most ``max_in_flight`` unacknowledged batches, the
partitions paused meanwhile, and paused partitions that move to another member and come back are read again
(librdkafka keeps a partition's pause flag across rebalances)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from ingest.sources.base import SourceBatch
from ingest.sources.kafka import open_kafka_source
from tests.kafka.broker import json_values, new_topic, produce

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _offsets(sb: SourceBatch) -> set[tuple[int, int]]:
    return {(m["kafka"]["partition"], m["kafka"]["offset"]) for m in sb.batch.column("_ingest").to_pylist()}


def test_backpressure_pauses_and_partitions_come_back_unpaused_after_rebalances(kafka_bootstrap: str) -> None:
    from confluent_kafka import Consumer

    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(300))
    source = open_kafka_source(f"kafka://{kafka_bootstrap}/{topic}?group=bp&batch_size=10&max_in_flight=1"
                               "&drain_timeout_s=1&session.timeout.ms=6000&heartbeat.interval.ms=500")
    got: queue.Queue[SourceBatch] = queue.Queue()
    reader = threading.Thread(target=lambda: [got.put(sb) for sb in source.batches()], daemon=True)
    reader.start()
    first = got.get(timeout=60)
    time.sleep(3)  # longer than the short wait: the source pauses its partitions
    assert got.empty() and source.ledger.in_flight() == 1

    # Another member joins while the partitions are paused, and takes some of them…
    other = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "bp", "session.timeout.ms": 6000,
                      "enable.auto.commit": False, "heartbeat.interval.ms": 500})
    other.subscribe([topic])
    leave = threading.Event()
    owned: list[int] = []

    def member() -> None:
        while not leave.is_set():
            other.poll(0.1)
            owned[:] = [p.partition for p in other.assignment()]
        other.close()  # …and leaves: its partitions go back to the source

    threading.Thread(target=member, daemon=True).start()
    deadline = time.monotonic() + 60
    while not owned:
        assert time.monotonic() < deadline, "the second member got no partition"
        time.sleep(0.2)
    seen = _offsets(first)
    source.acknowledged(first.position)
    sb = got.get(timeout=60)  # the source resumes what it still owns
    seen |= _offsets(sb)
    source.acknowledged(sb.position)
    leave.set()
    deadline = time.monotonic() + 90
    while len(seen) < 300:
        assert time.monotonic() < deadline, f"stuck at {len(seen)} of 300 messages: a partition stayed paused"
        try:
            sb = got.get(timeout=5)
        except queue.Empty:
            continue
        assert source.ledger.in_flight() <= 1
        seen |= _offsets(sb)
        source.acknowledged(sb.position)
    source.stop()
    reader.join(timeout=30)
    assert seen == {(p, o) for p in range(3) for o in range(100)}


@pytest.mark.parametrize("strategy", ["range,roundrobin", "cooperative-sticky"])
def test_eager_and_cooperative_assignment_read_everything_until_caught_up(kafka_bootstrap: str, strategy: str) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, json_values(90))
    group = f"as-{strategy[:4]}"
    source = open_kafka_source(f"kafka://{kafka_bootstrap}/{topic}?group={group}&batch_size=20&until_caught_up=true"
                               f"&partition.assignment.strategy={strategy}")
    seen: set[tuple[int, int]] = set()
    for sb in source.batches():  # the job would acknowledge after the sink; here, at once
        seen |= _offsets(sb)
        source.acknowledged(sb.position)
    assert seen == {(p, o) for p in range(3) for o in range(30)}
    from tests.kafka.broker import committed

    assert committed(kafka_bootstrap, group, topic) == {0: 30, 1: 30, 2: 30}
