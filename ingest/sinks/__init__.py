"""Sinks: where bulk actions go. ``base`` is the contract, ``registry`` the kinds of destination by scheme
(embedded DuckDB, Elasticsearch/OpenSearch, files, LanceDB) with their declared capabilities."""

from __future__ import annotations

from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.registry import open_sink, redact_url

__all__ = ["BulkAction", "FieldHint", "ItemResult", "Sink", "open_sink", "redact_url"]
