"""The REST server: Elasticsearch's HTTP dialect over the Python APIs (``create_app()``).

Every response carries ``X-Elastic-Product: Elasticsearch`` and answers in the client's media type; every
error, including oversized bodies (413) and crashes (500), uses Elasticsearch's error envelope, except unknown
paths (400) and wrong methods (405), which get Elasticsearch's flat ``{"error": "...", "status": N}`` (``routing``). Authentication runs before any route, and every route declares the privilege
it needs (see ``ingest.server.security``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.context import AppContext
from ingest.models.api import InferenceAPI, default_api
from ingest.models.errors import ActionRequestValidationException, ElasticsearchError
from ingest.server.destination import Destination
from ingest.server.dialect import PRODUCT_HEADER, check_params, compat_version, error_response, es_response
from ingest.server.limits import LimitedReceive, check_content_type, check_declared_length, max_content_length
from ingest.server.localjobs import LocalJobs
from ingest.server.metrics import ServerMetrics
from ingest.server.nodeinfo import CLUSTER_NAME, VERSION, Node
from ingest.server.observe import ObserveMiddleware
from ingest.server.routes import (
    aliases,
    bulk,
    cat,
    documents,
    indices,
    inference,
    local_arrow,
    local_job,
    ml,
    multidoc,
    node,
    nodestats,
    pipelines,
    prometheus,
    search,
    search_contexts,
    security_admin,
    simulate_ingest,
    stream,
    templates,
)
from ingest.server.routes import security as security_routes
from ingest.server.routing import TrailingSlash, unknown_route
from ingest.server.security import Authenticator
from ingest.server.security.declare import cluster, undeclared
from ingest.server.security.middleware import install
from ingest.sinks.served.wire import JOB_STREAM_PATH

log = logging.getLogger(__name__)


def create_app(
    api: InferenceAPI | None = None,
    *,
    context: AppContext | None = None,
    authenticator: Authenticator | None = None,
    max_body_bytes: int | None = None,
    dest: str = "embedded",
) -> FastAPI:
    """Build the FastAPI app over ``context`` (``app.state.context``; routes reach it with
    ``Depends(app_context)``). Without one, a context over ``api`` (default: the process-wide
    :func:`ingest.models.api.default_api`), closed with the app. ``max_body_bytes`` defaults to the settings'
    ``http.max_content_length`` (``$INGEST_HTTP_MAX_CONTENT_LENGTH``, 100mb); ``dest`` is where ``_bulk`` writes
    (an ``open_sink`` string: ``embedded``, an Elasticsearch/OpenSearch URL, a file)."""
    owns_context = context is None
    if context is None:
        context = AppContext(api=api or default_api())
    elif api is not None and api is not context.api:
        raise ValueError("create_app: pass an api or a context, not both")
    if max_body_bytes is None:
        max_body_bytes = max_content_length(context.settings)
    # no Swagger pages at /docs and /redoc: those are index names here (GET /docs is the index "docs")
    app = FastAPI(title="ingest", version="0.1.0", lifespan=_lifespan, docs_url=None, redoc_url=None,
                  description="Elasticsearch's inference API, ingest pipelines and bulk ingest")
    app.state.context, app.state.owns_context = context, owns_context
    app.state.api = context.api  # the same object, for the routes written before the context
    app.state.metrics = ServerMetrics(app.state.api.deployments, _deadletter_count(app))
    app.state.destination = Destination(context, dest, metrics=app.state.metrics)
    app.state.local_jobs = LocalJobs()  # jobs of the home's CLI run here (POST /_ingest_local/job)
    app.state.api.observers.append(app.state.metrics.observe_inference)
    app.state.max_body_bytes = max_body_bytes
    app.state.node = Node.for_home(str(app.state.api.store.path))  # one identity for /, _nodes, _license
    app.state.cluster_uuid = app.state.node.cluster_uuid

    install(app, authenticator or Authenticator(app.state.api.store))  # inner: after the dialect, before routing
    app.add_middleware(DialectMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(ObserveMiddleware)  # times and logs every answer, refusals included
    app.add_middleware(TrailingSlash)  # outermost: /t1/_doc/ is /t1/_doc for every layer, as in Elasticsearch
    app.router.redirect_slashes = False

    @app.exception_handler(ElasticsearchError)
    async def es_error(request: Request, exc: ElasticsearchError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"[{'.'.join(str(p) for p in e['loc'])}] {e['msg'].lower()}" for e in exc.errors()]
        return error_response(request, ActionRequestValidationException(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            return unknown_route(app, request)
        return error_response(request, ElasticsearchError(str(exc.detail), status=exc.status_code))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, ElasticsearchError("internal server error; see the server log"))

    @app.get("/", dependencies=[cluster("monitor", "cluster:monitor/main")])
    async def info(request: Request) -> Response:
        check_params(request, ())
        body = {
            "name": app.state.node.name,
            "cluster_name": CLUSTER_NAME,
            "cluster_uuid": app.state.cluster_uuid,
            "version": VERSION,
            "tagline": "You Know, for Search",
        }
        return es_response(request, body)

    @app.head("/", dependencies=[cluster("monitor", "cluster:monitor/main")])
    async def ping(request: Request) -> Response:
        return Response(status_code=200, headers=PRODUCT_HEADER)

    # stream first, so that "_stream" is never taken for an inference id
    # nodestats before node: /_nodes/{node_id}/stats is not /_nodes/{node_id}/{metric}; the index routes after
    # bulk (their {index} segments never start with "_", so none shadows an API path)
    # simulate_ingest after pipelines: /_ingest/pipeline/_simulate is the pipeline one, not the index "pipeline"
    for module in (stream, inference, local_arrow, local_job, ml, pipelines, simulate_ingest, prometheus, nodestats, node, templates,
                   documents, multidoc, search, search_contexts, bulk, indices, aliases, cat, security_routes, security_admin):
        app.include_router(module.router)
    missing = undeclared(app.routes)
    if missing:  # fail closed: a route nobody declared a privilege for must not be served
        raise RuntimeError(f"routes without a privilege declaration (see ingest/server/security/declare.py): "
                           f"{', '.join(missing)}")
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from ingest.models.trained_models import TrainedModels

    TrainedModels(app.state.api).restore()  # deployments _start created before a restart, as Elasticsearch's
    yield
    app.state.local_jobs.cancel_all()  # interrupted as Ctrl-C interrupts a job alone: --resume goes on
    app.state.destination.close()  # flushes and releases the sink (DuckDB file, cluster connections)
    if app.state.metrics.observe_inference in app.state.api.observers:
        app.state.api.observers.remove(app.state.metrics.observe_inference)
    if app.state.owns_context:
        app.state.context.close()


def _deadletter_count(app: FastAPI) -> Callable[[], int]:
    return lambda: app.state.destination.deadletters().count()


class DialectMiddleware:
    """Checks every request (media type, size) and stamps every response with the product header.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps the
    response stream and delays client-disconnect detection by seconds, which would keep upstream provider
    requests of abandoned ``_stream`` calls running.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            compat_version(request)
            check_declared_length(request.headers, self.max_body_bytes)
            check_content_type(request.headers, request.url.path)
        except ElasticsearchError as exc:
            await error_response(request, exc)(scope, receive, send)
            return

        # a streamed job's body is standard input, unbounded as a job alone's (the route is the local CLI's only)
        limit = None if scope["path"] == JOB_STREAM_PATH else self.max_body_bytes
        limited = LimitedReceive(receive, limit)

        async def send_with_product(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in PRODUCT_HEADER.items():
                    headers[key] = value
                if limited.exceeded:  # the rest of the body is never read: close rather than drain it
                    headers["connection"] = "close"
            await send(message)

        await self.app(scope, limited, send_with_product)
