"""Telling Elasticsearch from OpenSearch by ``GET /``."""

from __future__ import annotations

from typing import Any

from ingest.sinks.base import Sink
from ingest.sinks.elasticsearch.client import server_info, split_url


def distribution(url: str, **options: Any) -> tuple[str, int]:
    """("elasticsearch" | "opensearch", major version) of the cluster at ``url``."""
    base, auth = split_url(url)
    info = server_info(base, auth, api_key=options.get("api_key"), timeout_s=float(options.get("timeout_s", 30)),
                       verify_certs=bool(options.get("verify_certs", True)))
    version = info.get("version") or {}
    kind = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    return kind, int(str(version.get("number", "8")).split(".")[0])


def open_cluster_sink(url: str, **options: Any) -> Sink:
    """The right sink for the cluster at ``url``."""
    kind, major = distribution(url, **options)
    if kind == "opensearch":
        from ingest.sinks.opensearch import OpenSearchSink

        return OpenSearchSink(url, **options)
    from ingest.sinks.elasticsearch import ElasticsearchSink

    return ElasticsearchSink(url, major=major, **options)
