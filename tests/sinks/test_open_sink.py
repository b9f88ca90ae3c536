"""``open_sink``: destinations and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks import open_sink
from ingest.sinks.embedded import EmbeddedStore
from ingest.sinks.files import FileSink
from tests.clusters.common import free_port


def test_destinations(ingest_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.duckdb"
    for dest, kind, path in [
        ("embedded", EmbeddedStore, ingest_home / "indices.duckdb"),
        (f"embedded://{other}", EmbeddedStore, other),
        (f"file://{tmp_path / 'x.parquet'}", FileSink, tmp_path / "x.parquet"),
    ]:
        sink = open_sink(dest)
        assert isinstance(sink, kind) and sink.path == path
        sink.close()
        sink.close()  # idempotent


def test_bad_destinations_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(IllegalArgumentException, match="unknown destination"):
        open_sink("ftp://somewhere")
    with pytest.raises(IllegalArgumentException, match="unknown file format"):
        open_sink(f"file://{tmp_path / 'out'}", format="xml")
    with pytest.raises(ElasticsearchError) as err:
        open_sink(f"http://user:s3cret@127.0.0.1:{free_port()}")
    assert err.value.status == 503 and "s3cret" not in str(err.value)


def test_cluster_going_away_is_a_503_not_a_crash() -> None:
    from ingest.sinks.base import BulkAction
    from ingest.sinks.elasticsearch import ElasticsearchSink
    from ingest.sinks.opensearch import OpenSearchSink

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for sink in (ElasticsearchSink(url, major=8, timeout_s=5), OpenSearchSink(url, timeout_s=5)):
        with pytest.raises(ElasticsearchError) as err:
            sink.write([BulkAction("index", "i", "1", {"a": 1})])
        assert err.value.status == 503
        sink.close()
