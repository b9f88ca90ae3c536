"""The embedded (default) sink: DuckDB under ``$INGEST_HOME``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ingest.sinks.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore", "open_dest"]


def open_dest(dest: str, **options: Any) -> EmbeddedStore:
    """``embedded``: the store at ``$INGEST_HOME/indices.duckdb``; ``embedded:///path/db.duckdb``: another file."""
    path = unquote(urlparse(dest).path) if dest.startswith("embedded://") else ""
    return EmbeddedStore(Path(path) if path else None, **options)
