"""``/_security``: who am I, and API keys (create, list, invalidate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ingest.server.dialect import check_params, es_response, json_body, parse_time
from ingest.server.security import Principal
from ingest.server.security.keys import create_api_key
from models.endpoints.requests import parse_body
from models.errors import ResourceNotFoundException
from models.store import Store

router = APIRouter(tags=["security"])


class CreateKeyBody(BaseModel):
    """Body of ``POST /_security/api_key`` (our roles instead of role descriptors)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    role: str = "inference_user"
    expiration: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class InvalidateBody(BaseModel):
    """Body of ``DELETE /_security/api_key``."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    ids: list[str] | None = None
    name: str | None = None


def _store(request: Request) -> Store:
    store: Store = request.app.state.api.store
    return store


@router.get("/_security/_authenticate")
async def authenticate(request: Request) -> Response:
    """The caller's identity."""
    check_params(request, ())
    p: Principal = request.state.principal
    body = {"username": p.username, "roles": [p.role], "authentication_realm": {"name": p.realm, "type": p.realm},
            "authentication_type": "api_key" if p.api_key_id else "realm", "enabled": True}
    if p.api_key_id:
        body["api_key"] = {"id": p.api_key_id, "name": p.username}
    return es_response(request, body)


async def _create(request: Request) -> Response:
    check_params(request, ("refresh",))
    body = parse_body(CreateKeyBody, await json_body(request))
    expires = parse_time(body.expiration, "expiration") if body.expiration else None
    key = create_api_key(_store(request), body.name, body.role, expires)
    out: dict[str, Any] = {"id": key.id, "name": key.name, "api_key": key.api_key, "encoded": key.encoded}
    if key.expiration:
        out["expiration"] = key.expiration
    return es_response(request, out)


@router.post("/_security/api_key")
async def create_post(request: Request) -> Response:
    """Create an API key."""
    return await _create(request)


@router.put("/_security/api_key")
async def create_put(request: Request) -> Response:
    """Create an API key."""
    return await _create(request)


@router.get("/_security/api_key")
async def list_keys(request: Request) -> Response:
    """List API keys (never their secrets)."""
    check_params(request, ("id", "name"))
    keys: list[dict[str, Any]] = [
        {"id": k.id, "name": k.name, "creation": int(k.created_at * 1000), "invalidated": k.invalidated,
         "expiration": int(k.expires_at * 1000) if k.expires_at else None, "role_descriptors": {k.role: {}}}
        for k in _store(request).list_api_keys()
        if request.query_params.get("id") in (None, k.id) and request.query_params.get("name") in (None, k.name)
    ]
    return es_response(request, {"api_keys": keys})


@router.delete("/_security/api_key")
async def invalidate(request: Request) -> Response:
    """Invalidate keys by id(s) or name."""
    check_params(request, ())
    body = parse_body(InvalidateBody, await json_body(request))
    ids = ([body.id] if body.id else []) + (body.ids or [])
    store = _store(request)
    done: list[str] = []
    for key_id in ids:
        done += store.invalidate_api_keys(key_id=key_id)
    if body.name:
        done += store.invalidate_api_keys(name=body.name)
    if not done and not ids and not body.name:
        raise ResourceNotFoundException("One of [ids, name] must be specified")
    return es_response(request, {"invalidated_api_keys": done, "previously_invalidated_api_keys": [],
                                 "error_count": 0})
