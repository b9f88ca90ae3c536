"""Helpers for the tests against the real broker: topics, producing, committed and end offsets, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.jobs.helpers import ROOT


def new_topic(bootstrap: str, partitions: int = 3, name: str | None = None) -> str:
    """A fresh topic (a random name unless given) with ``partitions`` partitions."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = name or f"t-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(30)
    return name


def produce(bootstrap: str, topic: str, values: list[tuple[int, bytes | None]]) -> list[tuple[int, int]]:
    """Send ``(partition, value)`` pairs in order; the (partition, offset) each landed at, in the same order."""
    from confluent_kafka import Producer

    landed: dict[int, tuple[int, int]] = {}
    errors: list[Any] = []

    def report(i: int) -> Any:
        def done(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(err)
            else:
                landed[i] = (msg.partition(), msg.offset())
        return done

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i, (partition, value) in enumerate(values):
        producer.produce(topic, value, partition=partition, key=f"k{partition}".encode(),
                         headers=[("source", b"test")], on_delivery=report(i))
        producer.poll(0)
    assert producer.flush(30) == 0 and not errors, errors
    return [landed[i] for i in range(len(values))]


def json_values(n: int, partitions: int = 3, start: int = 0) -> list[tuple[int, bytes | None]]:
    """``n`` JSON documents spread round-robin over the partitions."""
    return [(i % partitions, json.dumps({"n": i, "text": f"message {i}"}).encode()) for i in range(start, start + n)]


def end_offsets(bootstrap: str, topic: str, partitions: int = 3) -> dict[int, int]:
    """High watermark per partition."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:6]}"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
    """The group's committed offset per partition (-1001 when none)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        for attempt in range(20):
            try:
                got = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
                return {tp.partition: tp.offset for tp in got}
            except KafkaException as exc:  # a fresh broker answers "not coordinator" while it loads the group
                if attempt == 19:
                    raise AssertionError(f"no committed offsets from the broker: {exc}") from exc
                time.sleep(0.5)
        raise AssertionError("unreachable")
    finally:
        consumer.close()


def wait_committed(bootstrap: str, group: str, topic: str, target: dict[int, int], timeout: float = 120) -> None:
    """Until the group committed ``target`` offsets."""
    deadline = time.monotonic() + timeout
    seen: dict[int, int] = {}
    while time.monotonic() < deadline:
        seen = committed(bootstrap, group, topic, len(target))
        if seen == target:
            return
        time.sleep(0.5)
    raise AssertionError(f"group {group} committed {seen}, expected {target}")


def start_ingest(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen[str]:
    """``ingest ARGS`` as a background process (stderr to ``log``)."""
    full = {k: v for k, v in os.environ.items() if k != "INGEST_FAULT"}
    full.update(env or {})
    err = log.open("w") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "ingest.cli.main", *args], cwd=ROOT, env=full,
                            stdout=subprocess.PIPE, stderr=err, text=True)


def cluster_ids(url: str, index: str) -> list[str]:
    """Every ``_id`` of an Elasticsearch / OpenSearch index (after a refresh)."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/{index}/_refresh", method="POST"), timeout=30).read()
    body = json.dumps({"size": 10000, "_source": False, "query": {"match_all": {}}}).encode()
    req = urllib.request.Request(f"{url}/{index}/_search", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        hits = json.loads(resp.read())["hits"]["hits"]
    return [h["_id"] for h in hits]
