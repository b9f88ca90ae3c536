"""Fuzz the inference, ML and security routes from the OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from ingest.models.api import InferenceAPI
from ingest.server.app import create_app

MINE = re.compile(r"^/(_inference|_ml|_security)")


def _check(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code >= 400 and response.content:
        body = response.json()
        if response.status_code == 404 and body in ({}, {"found": False}):
            return  # Elasticsearch's "nothing found" answers of GET/DELETE role and user
        assert body["status"] == response.status_code
        if isinstance(body["error"], str):  # Elasticsearch's flat answer for a path or method no route serves
            assert response.status_code in (400, 405) and body["error"].startswith(("no handler", "Incorrect HTTP"))
        else:
            assert body["error"]["root_cause"][0]["type"] == body["error"]["type"]
    assert response.headers["x-elastic-product"] in ("Elasticsearch", ["Elasticsearch"])


def test_no_server_errors(ingest_home: Path) -> None:
    api = InferenceAPI()
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api))
        operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
        mine = [op for op in operations if MINE.match(op.path)]
        assert len(mine) >= 15
        for op in mine:
            run = settings(max_examples=15, deadline=None, database=None,
                           suppress_health_check=list(HealthCheck))(given(case=op.as_strategy())(_check))
            run()
    finally:
        api.close()
