"""``ingest serve``: the Elasticsearch-compatible REST server (FastAPI on uvicorn).

A non-loopback address needs security enabled (``ingest security enable``) and serves HTTPS, with the home's
certificate or ``--ssl-certificate``/``--ssl-key``, unless ``--no-ssl`` says otherwise; loopback serves HTTP
unless ``--ssl`` or a certificate is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback addresses need "
                                           "`ingest security enable` and serve HTTPS.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (9280, so that it can run beside Elasticsearch on 9200).")] = 9280,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ssl: Annotated[bool | None, typer.Option(
        "--ssl/--no-ssl", help="Serve HTTPS (default: on for non-loopback addresses, off on loopback). "
        "--no-ssl on a non-loopback address sends credentials in clear text: only behind a TLS proxy.")] = None,
    ssl_certificate: Annotated[Path | None, typer.Option(help="PEM certificate (chain) to serve; default: the "
                                                              "one `ingest security enable` generated.")] = None,
    ssl_key: Annotated[Path | None, typer.Option(help="PEM private key of --ssl-certificate.")] = None,
) -> None:
    """Serve the inference, ingest-pipeline and bulk APIs over HTTP(S), speaking Elasticsearch's dialect."""
    import uvicorn

    from ingest.server.app import create_app
    from ingest.server.security import check_bind, is_loopback
    from ingest.server.security.tls import home_certs
    from models.api import default_api

    api = default_api()
    check_bind(host, api.store)  # exits with a message saying what to run
    if (ssl_certificate is None) != (ssl_key is None):
        raise SystemExit("--ssl-certificate and --ssl-key go together")
    use_ssl = ssl if ssl is not None else (ssl_certificate is not None or not is_loopback(host))
    if use_ssl and ssl_certificate is None:
        certs = home_certs(api.store.path.parent)
        if not certs.exist():
            raise SystemExit("HTTPS needs a certificate: run `ingest security enable` (generates one under "
                             "$INGEST_HOME/certs) or pass --ssl-certificate and --ssl-key; --no-ssl to serve HTTP.")
        ssl_certificate, ssl_key = certs.cert, certs.key
    if not use_ssl and not is_loopback(host):
        typer.echo(f"WARNING: serving plain HTTP on [{host}] (--no-ssl): credentials cross the network in clear "
                   "text.", err=True)
    app = create_app(api)
    app.state.authenticator.bind_host = host
    uvicorn.run(app, host=host, port=port, log_level=log_level,
                ssl_certfile=str(ssl_certificate) if use_ssl else None,
                ssl_keyfile=str(ssl_key) if use_ssl else None)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ingest app."""
    app.command("serve")(serve)
