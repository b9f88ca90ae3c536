"""``/_security``: who am I, and API keys (create, get, query, invalidate) as Elasticsearch does them.

A new key's privileges are its ``role_descriptors`` within the creator's own privileges (see
``ingest.server.security.keys``). With ``manage_own_api_key`` alone a caller sees and invalidates only its own
keys (a user: the keys it owns; an API key: itself), and must say so (``owner=true``, its username, or its own
key id), as in Elasticsearch; ``manage_api_key`` covers every key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ingest.models.endpoints.requests import parse_body
from ingest.models.errors import ActionRequestValidationException
from ingest.models.store import ApiKeyRecord, Store
from ingest.server.dialect import bool_param, check_params, es_response, json_body, parse_time
from ingest.server.security import declare as need
from ingest.server.security.authn import Principal
from ingest.server.security.keyquery import query_keys
from ingest.server.security.keys import create_api_key, descriptors_of
from ingest.server.security.roles import Permission, parse_descriptors

router = APIRouter(tags=["security"])

CREATE = "cluster:admin/xpack/security/api_key/create"
GET = "cluster:admin/xpack/security/api_key/get"
INVALIDATE = "cluster:admin/xpack/security/api_key/invalidate"
QUERY = "cluster:admin/xpack/security/api_key/query"


class CreateKeyBody(BaseModel):
    """Body of ``POST /_security/api_key``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    expiration: str | None = None
    role_descriptors: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class InvalidateBody(BaseModel):
    """Body of ``DELETE /_security/api_key``."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    ids: list[str] | None = None
    name: str | None = None
    owner: bool = False
    username: str | None = None
    realm_name: str | None = None


def _store(request: Request) -> Store:
    store: Store = request.app.state.api.store
    return store


def owner_of(p: Principal) -> tuple[str, str]:
    """(username, realm) that owns the keys ``p`` creates (a key's keys belong to the key's owner)."""
    if p.api_key:
        return p.username, str(p.details.get("owner_realm", "reserved"))
    return p.username, p.realm[0]


def _is_own(p: Principal) -> Callable[[ApiKeyRecord], bool]:
    """A user owns the keys it created (and those its keys created); an API key owns only itself."""
    if p.api_key is not None:
        own_id = p.api_key[0]
        return lambda k: k.id == own_id
    owner = owner_of(p)
    return lambda k: (k.owner, k.realm) == owner


def key_info(k: ApiKeyRecord, with_limited_by: bool = False) -> dict[str, Any]:
    """A key as Elasticsearch lists it (never its secret or hash)."""
    info: dict[str, Any] = {
        "id": k.id, "name": k.name, "type": "rest", "creation": int(k.created_at * 1000),
        "invalidated": k.invalidated, "username": k.owner, "realm": k.realm,
        "realm_type": "reserved" if k.realm == "reserved" else ("native" if k.realm == "default_native" else k.realm),
        "metadata": json.loads(k.metadata) if k.metadata else {},
        "role_descriptors": {n: d.public() for n, d in descriptors_of(k).items()},
    }
    if k.expires_at:
        info["expiration"] = int(k.expires_at * 1000)
    if k.invalidated_at:
        info["invalidation"] = int(k.invalidated_at * 1000)
    if with_limited_by and k.limited_by:
        layers = Permission.from_json(k.limited_by).layers
        info["limited_by"] = [{f"role_{i}": r.public() for i, r in enumerate(layer)} for layer in layers]
    return info


@router.get("/_security/_authenticate",
            dependencies=[need.authenticated("cluster:admin/xpack/security/user/authenticate")])
async def authenticate(request: Request) -> Response:
    """The caller's identity, in Elasticsearch's shape."""
    check_params(request, ())
    p = need.principal_of(request)
    realm = {"name": p.realm[0], "type": p.realm[1]}
    body: dict[str, Any] = {
        "username": p.username, "roles": list(p.roles), "full_name": p.details.get("full_name"),
        "email": p.details.get("email"), "metadata": p.details.get("metadata", {}), "enabled": True,
        "authentication_realm": realm, "lookup_realm": realm,
        "authentication_type": "api_key" if p.api_key else ("anonymous" if p.realm[1] == "anonymous" else "realm"),
    }
    if p.api_key:
        body["api_key"] = {"id": p.api_key[0], "name": p.api_key[1]}
    return es_response(request, body)


async def _create(request: Request) -> Response:
    check_params(request, ("refresh",))
    p = need.principal_of(request)
    body = parse_body(CreateKeyBody, await json_body(request))
    expires = parse_time(body.expiration, "expiration") if body.expiration else None
    descriptors = parse_descriptors(body.role_descriptors)
    key = await run_in_threadpool(lambda: create_api_key(
        _store(request), body.name, descriptors=descriptors, limited_by=p.permission, owner=owner_of(p),
        expires_in_s=expires, metadata=body.metadata))
    request.app.state.authenticator.audit("create_apikey", request=request, principal=p,
                                          apikey={"id": key.id, "name": key.name})
    return es_response(request, key.body())


@router.post("/_security/api_key", dependencies=[need.api_keys(CREATE)])
async def create_post(request: Request) -> Response:
    """Create an API key (``manage_own_api_key`` is enough: a key never exceeds its creator)."""
    return await _create(request)


@router.put("/_security/api_key", dependencies=[need.api_keys(CREATE)])
async def create_put(request: Request) -> Response:
    """Create an API key."""
    return await _create(request)


def _require_own_scope(request: Request, p: Principal, action: str, *, owner: bool, ids: list[str],
                       username: str | None, realm: str | None) -> bool:
    """With ``manage_own_api_key`` alone the request must be about the caller's own keys; True when restricted."""
    if not need.only_own_keys(p, action):
        return False
    if owner:
        return True
    if p.api_key:
        if ids and all(i == p.api_key[0] for i in ids):
            return True
    elif username == p.username and realm in (None, p.realm[0]):
        return True
    raise need.denied(request, p, action)


@router.get("/_security/api_key", dependencies=[need.api_keys(GET)])
async def get_keys(request: Request) -> Response:
    """Get API keys by id, name, owner, username or realm (never their secrets)."""
    check_params(request, ("id", "name", "owner", "username", "realm_name", "with_limited_by", "active_only",
                           "with_profile_uid"))
    q = request.query_params
    p = need.principal_of(request)
    owner = bool_param(request, "owner")
    restricted = _require_own_scope(request, p, GET, owner=owner, ids=[q["id"]] if q.get("id") else [],
                                    username=q.get("username"), realm=q.get("realm_name"))
    own = _is_own(p)
    name = q.get("name")
    keys = [k for k in await run_in_threadpool(_store(request).list_api_keys)
            if (not (owner or restricted) or own(k))
            and q.get("id") in (None, k.id) and (name is None or _name_matches(name, k.name))
            and q.get("username") in (None, k.owner) and q.get("realm_name") in (None, k.realm)
            and not (bool_param(request, "active_only") and k.invalidated)]
    with_limited_by = bool_param(request, "with_limited_by")
    return es_response(request, {"api_keys": [key_info(k, with_limited_by) for k in keys]})


def _name_matches(pattern: str, value: str) -> bool:
    """Elasticsearch's key-name matching: exact, or a trailing-``*`` prefix."""
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


@router.delete("/_security/api_key", dependencies=[need.api_keys(INVALIDATE)])
async def invalidate(request: Request) -> Response:
    """Invalidate keys by id(s), name, owner, username or realm."""
    check_params(request, ())
    p = need.principal_of(request)
    body = parse_body(InvalidateBody, await json_body(request))
    ids = ([body.id] if body.id else []) + (body.ids or [])
    if not (body.owner or ids or body.name or body.username or body.realm_name):
        raise ActionRequestValidationException(["One of [api key id(s), api key name, username, realm name] must "
                                                "be specified if [owner] flag is false"])
    restricted = _require_own_scope(request, p, INVALIDATE, owner=body.owner, ids=ids, username=body.username,
                                    realm=body.realm_name)
    own = _is_own(p)
    store = _store(request)
    matched = [k for k in await run_in_threadpool(store.list_api_keys)
               if (not (body.owner or restricted) or own(k)) and (not ids or k.id in ids)
               and (body.name is None or _name_matches(body.name, k.name))
               and body.username in (None, k.owner) and body.realm_name in (None, k.realm)]
    done = await run_in_threadpool(store.invalidate_api_keys, None, None, [k.id for k in matched])
    before = [k.id for k in matched if k.invalidated]
    request.app.state.authenticator.audit("invalidate_apikeys", request=request, principal=p,
                                          apikey={"ids": done})
    return es_response(request, {"invalidated_api_keys": done, "previously_invalidated_api_keys": before,
                                 "error_count": 0})


@router.get("/_security/_query/api_key", dependencies=[need.api_keys(QUERY)])
@router.post("/_security/_query/api_key", dependencies=[need.api_keys(QUERY)])
async def query(request: Request) -> Response:
    """Query API keys (a subset of the query DSL: see ``keyquery``); own keys only with ``manage_own_api_key``."""
    check_params(request, ("with_limited_by", "with_profile_uid", "typed_keys"))
    p = need.principal_of(request)
    body = await json_body(request, required=False) or {}
    keys = await run_in_threadpool(_store(request).list_api_keys)
    if need.only_own_keys(p, QUERY):
        keys = [k for k in keys if _is_own(p)(k)]
    infos = [key_info(k, bool_param(request, "with_limited_by")) for k in keys]
    total, page = query_keys(infos, body)
    return es_response(request, {"total": total, "count": len(page), "api_keys": page})
