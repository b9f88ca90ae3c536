"""``ingest serve``: the Elasticsearch-compatible REST server (FastAPI on uvicorn)."""

from __future__ import annotations

import logging.config
from typing import Annotated, Any
from urllib.parse import urlparse

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback addresses need authentication.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (9280, so that it can run beside Elasticsearch on 9200).")] = 9280,
    log_level: Annotated[str, typer.Option(help="Log level: debug, info, warning, error (libraries log from warning unless debug).")] = "info",
    log_format: Annotated[str, typer.Option(
        help="text, or json: one ECS-style object per line (@timestamp, log.level, message, http.*, url.path).")]
    = "text",
    dest: Annotated[str, typer.Option(
        help="Where _bulk writes: 'embedded' (the local store), an Elasticsearch or OpenSearch URL "
             "(http(s)://host:port, credentials as user:password@host), or file:///path.jsonl|.parquet.")] = "embedded",
) -> None:
    """Serve the inference, ingest-pipeline and bulk APIs over HTTP, speaking Elasticsearch's dialect."""
    import uvicorn

    from ingest.server.app import create_app
    from ingest.server.logs import log_config
    from ingest.server.security import check_bind
    from models.api import default_api

    api = default_api()
    check_bind(host, api.store)  # exits with a message saying what to set
    if log_format not in ("text", "json"):
        typer.echo(f"error: --log-format must be text or json, not [{log_format}]", err=True)
        raise typer.Exit(2)
    logging.config.dictConfig(log_config(log_format, log_level, [urlparse(dest).password or ""]))
    logging.captureWarnings(True)  # Python warnings as log lines too, so JSON output stays one object a line
    app = create_app(api, dest=dest)
    _check_dest(app.state.destination)
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None, access_log=False)


def _check_dest(destination: Any) -> None:
    """Open ``--dest`` now: a destination that can never work stops the server; one that cannot be reached yet
    (a cluster still starting) only warns, and is tried again at each ``_bulk``. The embedded store and files
    are opened on first use, so that the server does not hold DuckDB's single-writer lock before it needs it."""
    if destination.dest.startswith(("embedded", "file:")):
        return
    from ingest.sinks import redact_url
    from models.errors import ElasticsearchError
    from models.services.remote.secret import scrub

    try:
        destination.sink()
    except ElasticsearchError as exc:
        shown, password = redact_url(destination.dest), urlparse(destination.dest).password or ""
        reason = scrub(exc.reason, [password])
        log = logging.getLogger("ingest.serve")  # in the chosen --log-format, like every other line
        if exc.status not in (408, 429, 502, 503, 504):
            log.error("--dest %s: %s", shown, reason)
            raise typer.Exit(2) from None
        log.warning("--dest %s is not reachable yet (%s); _bulk will try again", shown, reason)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ingest app."""
    app.command("serve")(serve)
