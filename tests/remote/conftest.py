"""Fixtures for the remote-service tests: fast retry settings and a helper to build endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingest.models.results import TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.services.remote import REMOTE_SERVICES
from ingest.models.services.remote import transport as transport_mod
from tests.servers import serve


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Elasticsearch's 1 s / 5 s backoff, shrunk so that retry tests take milliseconds."""
    saved = (transport_mod.SETTINGS.initial_delay_s, transport_mod.SETTINGS.max_delay_s,
             transport_mod.SETTINGS.queue_capacity)
    transport_mod.configure(initial_delay_s=0.02, max_delay_s=0.1)
    yield
    transport_mod.configure(initial_delay_s=saved[0], max_delay_s=saved[1], queue_capacity=saved[2])


def endpoint(service: str, task_type: TaskType | str, service_settings: dict[str, Any],
             task_settings: dict[str, Any] | None = None, inference_id: str = "my-endpoint") -> tuple[Any, EndpointConfig]:
    """A service instance and a parsed endpoint (as the registry would make them)."""
    svc = REMOTE_SERVICES[service]()
    config = svc.parse_config(inference_id, TaskType(task_type), service_settings, task_settings or {}, None)
    return svc, config


def stream_router_app(api: Any) -> Any:
    """A bare app serving only ``ingest.server.routes.stream`` (no dialect middleware; authentication only)."""
    from fastapi import FastAPI

    from ingest.server.routes import stream as stream_routes
    from ingest.server.security import Authenticator
    from ingest.server.security.middleware import install

    app = FastAPI()
    app.state.api = api
    app.include_router(stream_routes.router)
    install(app, Authenticator(api.store))
    return app


@pytest.fixture(params=["app", "stream_router"])
def live_server(request: pytest.FixtureRequest, ingest_home: Any) -> Iterator[tuple[str, Any]]:
    """The assembled REST server, and the stream router on its own, over a fresh API; yields (url, api)."""
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    app = create_app(api) if request.param == "app" else stream_router_app(api)
    try:
        with serve(app) as url:
            yield url, api
    finally:
        api.close()
