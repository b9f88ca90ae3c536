"""The embedded (default) sink: DuckDB under ``$INGEST_HOME``."""

from ingest.sinks.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore"]
