"""What a route may use of its app, as FastAPI dependencies: the pattern every route follows.

``create_app`` builds one :class:`ingest.context.AppContext` (settings, home, inference API, pipelines, dead
letters, sinks) and the ``_bulk`` :class:`Destination` over it, and keeps them on ``app.state``; a route declares
what it needs and never builds its own store, API or sink, nor keeps module-level state::

    @router.get("/{index:index}/_doc/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
    def get_doc(index: str, doc_id: str, dest: Destination = Depends(app_destination)) -> JSONResponse: ...

    @router.get("/_ingest/pipeline")
    def get_pipelines(ctx: AppContext = Depends(app_context)) -> Response: ...
"""

from __future__ import annotations

from fastapi import Request

from ingest.context import AppContext
from ingest.server.destination import Destination


def app_context(request: Request) -> AppContext:
    """The app's context (``create_app``)."""
    context: AppContext = request.app.state.context
    return context


def app_destination(request: Request) -> Destination:
    """The app's ``_bulk`` destination: its sink (``ingest serve --dest``), pipelines and dead letters."""
    destination: Destination = request.app.state.destination
    return destination
