"""Sources: Arrow record batches from files, an existing index, or standard input. See ``base``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ingest.sources.base import Source, SourceBatch, SourceError

__all__ = ["Source", "SourceBatch", "SourceError", "open_source"]


def open_source(spec: str, **options: Any) -> Source:
    """Open a source.

    - ``"-"``: NDJSON on standard input, cut into micro-batches (``batch_size`` rows, ``max_wait_s`` seconds);
    - ``"http(s)://[user:pass@]host:port/index"``: an existing Elasticsearch / OpenSearch index read with
      point-in-time + ``search_after`` (``slices``, ``batch_size``, ``query`` options);
    - ``"kafka://host:port[,host:port]/topic[,topic]?group=G[&...]"``: a Kafka consumer-group member
      (``ingest.sources.kafka``; needs ``confluent-kafka``), streaming until stopped or caught up;
    - anything else: a file, a folder or a glob of Parquet, JSON Lines / NDJSON (optionally ``.gz``), CSV or
      Arrow IPC files; the format comes from the extension or the ``format`` option
      (parquet|jsonl|csv|arrow). ``batch_size`` sets the rows per batch (default 10,000).
    """
    if spec == "-":
        from ingest.sources.stdin import StdinSource

        return StdinSource(**options)
    if urlparse(spec).scheme == "kafka":
        from ingest.sources.kafka import open_kafka_source

        return open_kafka_source(spec, **options)
    if urlparse(spec).scheme in ("http", "https"):
        from ingest.sources.index import IndexSource

        return IndexSource(spec, **options)
    from ingest.sources.files import open_file_source

    return open_file_source(spec, **options)
