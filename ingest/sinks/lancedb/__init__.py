"""The LanceDB sink (``lancedb:///folder``, extra ``lancedb``): one Lance table per index, vectors as Arrow columns
that LanceDB searches (and indexes) itself. See ``sink``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ingest.models.errors import IllegalArgumentException

if TYPE_CHECKING:
    from ingest.sinks.lancedb.sink import LanceDBSink


def open_dest(dest: str, **options: Any) -> LanceDBSink:
    """``lancedb:///folder``: the LanceDB database in that folder (created when missing)."""
    from ingest.sinks.lancedb.sink import LanceDBSink

    path = unquote(urlparse(dest).path)
    if not path:
        raise IllegalArgumentException(f"destination [{dest}] names no folder: expected lancedb:///folder")
    return LanceDBSink(Path(path), **options)
