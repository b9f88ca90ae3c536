"""Streaming ingest from Kafka: ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC|,^REGEX]?group=G[&...]``.

``settings`` parses the URL, ``messages`` turns messages into batches (``_ingest.kafka`` metadata,
``topic-partition-offset`` ids, poison messages as source errors), ``ledger`` tracks which offsets the sink
acknowledged, ``source`` is the consumer-group member. Needs ``confluent-kafka`` (``pip install 'ingest[kafka]'``).
"""

from __future__ import annotations

from typing import Any

from ingest.sources.kafka.settings import KafkaSettings, parse_url, redact
from ingest.sources.kafka.source import KafkaSource

__all__ = ["KafkaSettings", "KafkaSource", "open_kafka_source", "parse_url", "redact"]


def open_kafka_source(spec: str, **options: Any) -> KafkaSource:
    """A Kafka source from its URL; ``options`` (CLI flags) override the URL's query parameters."""
    return KafkaSource(parse_url(spec, **options), spec)
