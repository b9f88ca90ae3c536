"""The embedded store of a home while ``ingest serve`` owns it: the server's REST API, as a cluster sink.

DuckDB admits one process per store file, so a job (or ``ingest export``, ``ingest indices``…) started while a
server runs on the same home writes and reads through that server instead of opening the file
(``AppContext.open_sink`` picks this sink when ``ingest.server.presence`` finds a live server). The job has
already run the index's pipelines itself, as it does writing directly, so its ``_bulk`` requests say
``pipeline=_none`` (the server must not run the default pipeline a second time).
"""

from __future__ import annotations

from typing import Any

from ingest.sinks.elasticsearch import ElasticsearchSink


class ServedSink(ElasticsearchSink):
    """Bulk writes and reads through the local server of the home, authenticated by its local token."""

    def __init__(self, url: str, *, token: str, timeout_s: float = 120.0) -> None:
        # Loopback only (the token is refused from elsewhere); the server's certificate is the home's own,
        # self-signed one, which the client has no CA file for.
        super().__init__(url, api_key=token, timeout_s=timeout_s, verify_certs=not url.startswith("https:"))

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              ndjson: bool = False, ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        if path == "/_bulk":
            params = {**(params or {}), "pipeline": "_none"}
        return super()._call(method, path, params=params, body=body, ndjson=ndjson, ignore=ignore)


def open_served(url: str, token: str) -> ServedSink:
    """The sink of a home's running server at ``url``."""
    return ServedSink(url, token=token)
