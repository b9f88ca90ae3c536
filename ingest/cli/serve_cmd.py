"""``ingest serve``: the Elasticsearch-compatible REST server (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback addresses need authentication.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (9280, so that it can run beside Elasticsearch on 9200).")] = 9280,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the inference, ingest-pipeline and bulk APIs over HTTP, speaking Elasticsearch's dialect."""
    import uvicorn

    from ingest.server.app import create_app
    from ingest.server.security import check_bind
    from models.api import default_api

    api = default_api()
    check_bind(host, api.store)  # exits with a message saying what to set
    uvicorn.run(create_app(api), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ingest app."""
    app.command("serve")(serve)
