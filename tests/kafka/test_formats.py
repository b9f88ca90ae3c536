"""Against the real broker, in-process: string values into a field, and topic patterns (``^regex``)."""

from __future__ import annotations

import uuid

import pytest

from ingest.sources.kafka import open_kafka_source
from tests.kafka.broker import json_values, new_topic, produce

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _read_all(url: str) -> list[dict]:
    source = open_kafka_source(url)
    rows: list[dict] = []
    for sb in source.batches():
        rows += sb.batch.to_pylist()
        source.acknowledged(sb.position)
    return rows


def test_string_values_go_into_the_value_field(kafka_bootstrap: str) -> None:
    topic = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, topic, [(i % 3, f"plain line {i}".encode()) for i in range(12)])
    rows = _read_all(f"kafka://{kafka_bootstrap}/{topic}?group=s1&value_format=string&value_field=line"
                     "&until_caught_up=true")
    assert sorted(r["line"] for r in rows) == sorted(f"plain line {i}" for i in range(12))
    assert all(r["_id"] == f"{topic}-{r['_ingest']['kafka']['partition']}-{r['_ingest']['kafka']['offset']}"
               for r in rows)


def test_a_topic_pattern_reads_every_matching_topic(kafka_bootstrap: str) -> None:
    stem = f"p{uuid.uuid4().hex[:6]}"
    topics = [new_topic(kafka_bootstrap, name=f"{stem}-{suffix}") for suffix in ("a", "b")]
    for topic in topics:
        produce(kafka_bootstrap, topic, json_values(9))
    other = new_topic(kafka_bootstrap)
    produce(kafka_bootstrap, other, json_values(3))  # does not match: never read
    rows = _read_all(f"kafka://{kafka_bootstrap}/^{stem}-.*?group=s2&until_caught_up=true")
    assert sorted((r["_ingest"]["kafka"]["topic"], r["n"]) for r in rows) == sorted(
        (t, n) for t in topics for n in range(9))
