"""``ingest serve``: the Elasticsearch-compatible REST server (FastAPI on uvicorn).

A non-loopback address needs security enabled (``ingest security enable``) and serves HTTPS, with the home's
certificate or ``--ssl-certificate``/``--ssl-key``, unless ``--no-ssl`` says otherwise; loopback serves HTTP
unless ``--ssl`` or a certificate is given.
"""

from __future__ import annotations

import contextlib
import logging.config
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlparse

import typer

from ingest.sinks.registry import usage

if TYPE_CHECKING:
    from ingest.presence import Claim


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback addresses need "
                                           "`ingest security enable` and serve HTTPS.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (9280, so that it can run beside Elasticsearch on 9200).")] = 9280,
    log_level: Annotated[str, typer.Option(help="Log level: debug, info, warning, error (libraries log from warning unless debug).")] = "info",
    log_format: Annotated[str, typer.Option(
        help="text, or json: one ECS-style object per line (@timestamp, log.level, message, http.*, url.path).")]
    = "text",
    dest: Annotated[str, typer.Option(
        help=f"Where _bulk writes: {usage()}.")] = "embedded",
    ssl: Annotated[bool | None, typer.Option(
        "--ssl/--no-ssl", help="Serve HTTPS (default: on for non-loopback addresses, off on loopback). "
        "--no-ssl on a non-loopback address sends credentials in clear text: only behind a TLS proxy.")] = None,
    ssl_certificate: Annotated[Path | None, typer.Option(help="PEM certificate (chain) to serve; default: the "
                                                              "one `ingest security enable` generated.")] = None,
    ssl_key: Annotated[Path | None, typer.Option(help="PEM private key of --ssl-certificate.")] = None,
    max_content_length: Annotated[str | None, typer.Option(
        help="http.max_content_length: the largest request body accepted, as an Elasticsearch byte size (e.g. 10mb); "
             "default $INGEST_HTTP_MAX_CONTENT_LENGTH or 100mb.")] = None,
) -> None:
    """Serve the inference, ingest-pipeline and bulk APIs over HTTP(S), speaking Elasticsearch's dialect."""
    import uvicorn

    from ingest.context import AppContext
    from ingest.models.errors import ElasticsearchError
    from ingest.server.app import create_app
    from ingest.server.limits import parse_byte_size
    from ingest.server.logs import log_config
    from ingest.server.security import check_bind, is_loopback
    from ingest.server.security.tls import home_certs

    context = AppContext()  # the settings are read here, once, for the server's lifetime
    api = context.api
    check_bind(host, api.store)  # exits with a message saying what to run
    if log_format not in ("text", "json"):
        typer.echo(f"error: --log-format must be text or json, not [{log_format}]", err=True)
        raise typer.Exit(2)
    if (ssl_certificate is None) != (ssl_key is None):
        raise SystemExit("--ssl-certificate and --ssl-key go together")
    try:
        limit = parse_byte_size(max_content_length, "http.max_content_length") if max_content_length else None
    except ElasticsearchError as exc:
        typer.echo(f"error: --max-content-length: {exc.reason}", err=True)
        raise typer.Exit(2) from None
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
    owns_store = dest in ("embedded", f"embedded://{context.home / 'indices.duckdb'}")
    claim = _claim_home(context.home, host, port, use_ssl, owns_store)  # before anything opens the embedded store
    logging.config.dictConfig(log_config(log_format, log_level, [urlparse(dest).password or "", claim.token]))
    logging.captureWarnings(True)  # Python warnings as log lines too, so JSON output stays one object a line
    try:
        app = create_app(context=context, dest=dest, max_body_bytes=limit)
        app.state.authenticator.bind_host = host
        app.state.authenticator.local_token = claim.token
        _release_on_shutdown(app, claim)
        _check_dest(app.state.destination)
    except BaseException:
        claim.release()
        raise
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None, access_log=False,
                    ssl_certfile=str(ssl_certificate) if use_ssl else None,
                    ssl_keyfile=str(ssl_key) if use_ssl else None)
    finally:  # before the interpreter finalises: deployment threads must not be inside ONNX Runtime then
        context.close()
        claim.release()


EXIT_ALREADY_SERVING = 3


def _release_on_shutdown(app: Any, claim: Claim) -> None:
    """Release the home at the end of the app's lifespan: uvicorn re-raises SIGTERM once the server has shut
    down, which ends the process without running ``finally`` blocks."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app_) as state:
                yield state
        finally:
            claim.release()

    app.router.lifespan_context = lifespan


def _claim_home(home: Path, host: str, port: int, https: bool, owns_store: bool) -> Claim:
    """Record this server in its home (``ingest.presence``); a second server on the same home exits with
    EXIT_ALREADY_SERVING and a message naming the running one, rather than failing later on the store's lock."""
    from ingest.presence import AlreadyServing, claim, local_url

    try:
        return claim(home, local_url(host, port, https), owns_store=owns_store)
    except AlreadyServing as exc:
        typer.echo(f"error: {exc}; stop it first, or serve another home (INGEST_HOME)", err=True)
        raise typer.Exit(EXIT_ALREADY_SERVING) from None


def _check_dest(destination: Any) -> None:
    """Open ``--dest`` now: a destination that can never work stops the server; one that cannot be reached yet
    (a cluster still starting) only warns, and is tried again at each ``_bulk``. Local sinks (the embedded store,
    files, LanceDB) are opened on first use, so that the server does not hold a single-writer lock before it needs it."""
    from ingest.models.errors import ElasticsearchError
    from ingest.models.services.remote.secret import scrub
    from ingest.sinks import redact_url

    try:
        if not destination.kind().capabilities.cluster:  # a local sink: checked when first used
            return
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
