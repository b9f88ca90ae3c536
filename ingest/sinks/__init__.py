"""Sinks: where bulk actions go (embedded DuckDB, Elasticsearch, OpenSearch, files). See ``base``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink

__all__ = ["BulkAction", "FieldHint", "ItemResult", "Sink", "open_sink", "redact_url"]


def redact_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part redacted, for messages and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    from ingest.models.services.remote.secret import REDACTED

    return url.replace(f":{parsed.password}@", f":{REDACTED}@", 1)


def open_sink(dest: str, **options: Any) -> Sink:
    """Open a sink from a destination string.

    - ``"embedded"``: the DuckDB store at ``$INGEST_HOME/indices.duckdb``; ``"embedded:///path/db.duckdb"``
      for another file;
    - ``"http(s)://[user:pass@]host:port"``: Elasticsearch or OpenSearch, told apart by ``GET /``;
    - ``"file:///path/out.parquet"`` or ``"file:///path/out.jsonl"``: one file per index, named
      ``<stem>`` when the path has a file suffix (then only one index may be written) or
      ``<dir>/<index>.<format>`` when it names a folder (``format`` option, default jsonl).

    ``options`` go to the sink's constructor (e.g. ``timeout_s``, ``verify_certs``, ``api_key``).
    """
    if dest == "embedded" or dest.startswith("embedded:"):
        from ingest.sinks.embedded import EmbeddedStore

        path = urlparse(dest).path if dest.startswith("embedded://") else ""
        return EmbeddedStore(Path(unquote(path)) if path else None, **options)
    scheme = urlparse(dest).scheme
    if scheme in ("http", "https"):
        from ingest.sinks.cluster.detect import open_cluster_sink

        return open_cluster_sink(dest, **options)
    if scheme == "file":
        from ingest.sinks.files import FileSink

        return FileSink(Path(unquote(urlparse(dest).path)), **options)
    raise IllegalArgumentException(
        f"unknown destination [{redact_url(dest)}]: expected 'embedded', 'embedded:///path.duckdb', "
        "'http(s)://host:port' or 'file:///path.parquet|.jsonl'"
    )
