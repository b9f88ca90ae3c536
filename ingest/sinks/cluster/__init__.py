"""What the Elasticsearch and OpenSearch sinks share: the REST sink (``sink``), chunk fields (``chunks``), field
mappings (``mappings``) and telling the two distributions apart (``detect``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.sinks.base import Sink


def open_dest(dest: str, **options: Any) -> Sink:
    """``http(s)://[user:password@]host:port``: Elasticsearch or OpenSearch, told apart by ``GET /``."""
    from ingest.sinks.cluster.detect import open_cluster_sink

    return open_cluster_sink(dest, **options)
