"""``/_security/role`` and ``/_security/user``: custom roles and native users (``manage_security``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ingest.models.endpoints.requests import parse_body
from ingest.models.errors import IllegalArgumentException
from ingest.models.store import Store
from ingest.server.dialect import check_params, es_response, json_body
from ingest.server.security import declare as need
from ingest.server.security.keys import put_user, user_details, user_roles
from ingest.server.security.privileges import CLUSTER, INDEX
from ingest.server.security.roles import RESERVED, IndicesPrivileges, Permission, RoleDescriptor

router = APIRouter(tags=["security"])
_MANAGE = "manage_security"


class UserBody(BaseModel):
    """Body of ``PUT /_security/user/{username}``."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = None
    roles: list[str] = Field(default_factory=list)
    full_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


def _store(request: Request) -> Store:
    store: Store = request.app.state.api.store
    return store


def _all_roles(store: Store) -> dict[str, RoleDescriptor]:
    custom = {n: RoleDescriptor.model_validate_json(d) for n, d in store.get_roles().items()}
    return {**RESERVED, **custom}


def _pick(names: str | None, found: dict[str, Any]) -> dict[str, Any]:
    if names is None:
        return found
    wanted = [n for n in names.split(",") if n]
    return {n: found[n] for n in wanted if n in found}


# -- roles -------------------------------------------------------------------------------------------

async def _put_role(request: Request, name: str) -> Response:
    check_params(request, ("refresh",))
    if name in RESERVED:
        raise IllegalArgumentException(f"Role [{name}] is reserved and may not be used.")
    if not name or len(name) > 507 or name != name.strip() or not name.isprintable() or not name.isascii():
        raise IllegalArgumentException(
            f"Validation Failed: 1: Invalid role name [{name}]... Role names must be at least [1] and no more than "
            "[507] characters. They can contain alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and "
            "printable symbols in the Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed.;")
    role = parse_body(RoleDescriptor, await json_body(request)).check()
    created = await run_in_threadpool(_store(request).put_role, name, role.model_dump_json(exclude_defaults=True))
    request.app.state.authenticator.audit("put_role", request=request, principal=need.principal_of(request),
                                          put={"role": {"name": name, "role_descriptor": role.public()}})
    return es_response(request, {"role": {"created": created}})


@router.put("/_security/role/{name}", dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/role/put")])
async def put_role(request: Request, name: str) -> Response:
    """Create or replace a custom role."""
    return await _put_role(request, name)


@router.post("/_security/role/{name}", dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/role/put")])
async def post_role(request: Request, name: str) -> Response:
    """Create or replace a custom role."""
    return await _put_role(request, name)


async def _get_roles(request: Request, names: str | None) -> Response:
    check_params(request, ())
    roles = await run_in_threadpool(_all_roles, _store(request))
    found = _pick(names, {n: r.public() for n, r in roles.items()})
    return es_response(request, found, status=200 if found or names is None else 404)


@router.get("/_security/role", dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/role/get")])
async def get_roles(request: Request) -> Response:
    """Every role, built-in ones included (``metadata._reserved``)."""
    return await _get_roles(request, None)


@router.get("/_security/role/{name}", dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/role/get")])
async def get_role(request: Request, name: str) -> Response:
    """Roles by name (comma-separated); 404 with ``{}`` when none exists."""
    return await _get_roles(request, name)


@router.delete("/_security/role/{name}",
               dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/role/delete")])
async def delete_role(request: Request, name: str) -> Response:
    """Delete a custom role; keys and users naming it lose what it granted."""
    check_params(request, ("refresh",))
    if name in RESERVED:
        raise IllegalArgumentException(f"role [{name}] is reserved and cannot be deleted")
    found = await run_in_threadpool(_store(request).delete_role, name)
    if found:
        request.app.state.authenticator.audit("delete_role", request=request, principal=need.principal_of(request),
                                              delete={"role": {"name": name}})
    return es_response(request, {"found": found}, status=200 if found else 404)


# -- the caller's privileges (registered before /_security/user/{username}, which would take "_privileges") --

class HasPrivilegesBody(BaseModel):
    """Body of ``_has_privileges``."""

    model_config = ConfigDict(extra="forbid")
    cluster: list[str] = Field(default_factory=list)
    index: list[IndicesPrivileges] = Field(default_factory=list)
    application: list[dict[str, Any]] = Field(default_factory=list)


def _holds_cluster(permission: Permission, privilege: str) -> bool:
    # A privilege is held when every action pattern it grants is granted (patterns compared as Elasticsearch's
    # automatons would be for these simple wildcards).
    granted, _ = CLUSTER.get(privilege, ((privilege,), ()))
    return bool(granted) and all(permission.cluster(pattern) for pattern in granted)


def _holds_index(permission: Permission, privilege: str, index_name: str) -> bool:
    patterns = INDEX.get(privilege, (privilege,))
    return bool(patterns) and all(permission.index(pattern, index_name) for pattern in patterns)


async def _has_privileges(request: Request) -> Response:
    check_params(request, ())
    p = need.principal_of(request)
    body = parse_body(HasPrivilegesBody, await json_body(request))
    RoleDescriptor(cluster=body.cluster, indices=body.index).check()  # unknown names: Elasticsearch's 400
    cluster = {name: _holds_cluster(p.permission, name) for name in body.cluster}
    index: dict[str, dict[str, bool]] = {}
    for entry in body.index:
        for name in entry.names:
            index.setdefault(name, {}).update({priv: _holds_index(p.permission, priv, name)
                                               for priv in entry.privileges})
    everything = all(cluster.values()) and all(all(v.values()) for v in index.values())
    return es_response(request, {"username": p.username, "has_all_requested": everything, "cluster": cluster,
                                 "index": index, "application": {}})


_HAS = "cluster:admin/xpack/security/user/has_privileges"


@router.get("/_security/user/_has_privileges", dependencies=[need.authenticated(_HAS)])
async def has_privileges_get(request: Request) -> Response:
    """Whether the caller holds the given cluster and index privileges."""
    return await _has_privileges(request)


@router.post("/_security/user/_has_privileges", dependencies=[need.authenticated(_HAS)])
async def has_privileges_post(request: Request) -> Response:
    """Whether the caller holds the given cluster and index privileges."""
    return await _has_privileges(request)


@router.get("/_security/user/_privileges",
            dependencies=[need.authenticated("cluster:admin/xpack/security/user/list_privileges")])
async def my_privileges(request: Request) -> Response:
    """The caller's privileges (a user's roles merged; an API key: see the API key's own information)."""
    check_params(request, ())
    p = need.principal_of(request)
    if len(p.permission.layers) > 1:
        raise IllegalArgumentException("Cannot retrieve privileges for API keys with assigned role descriptors. "
                                       "Please use the Get API key information API https://ela.st/es-api-get-api-key")
    roles = p.permission.layers[0]
    cluster = sorted({c for r in roles for c in r.cluster})
    indices = [{"names": e.names, "privileges": e.privileges, "allow_restricted_indices": e.allow_restricted_indices}
               for r in roles for e in r.indices]
    return es_response(request, {"cluster": cluster, "global": [], "indices": indices, "applications": [],
                                 "run_as": []})


class PasswordBody(BaseModel):
    """Body of ``_password``."""

    model_config = ConfigDict(extra="forbid")
    password: str


_PASSWORD = "cluster:admin/xpack/security/user/change_password"


async def _change_password(request: Request, username: str | None) -> Response:
    check_params(request, ("refresh",))
    p = need.principal_of(request)
    target = username or p.username
    body = parse_body(PasswordBody, await json_body(request))
    store = _store(request)
    user = await run_in_threadpool(store.get_user, target)
    if user is None:
        from ingest.models.errors import ResourceNotFoundException

        raise ResourceNotFoundException(f"user [{target}] does not exist")
    await run_in_threadpool(put_user, store, target, body.password, user_roles(user), user_details(user))
    authenticator = request.app.state.authenticator
    authenticator.clear_cache()
    authenticator.audit("change_password", request=request, principal=p, change={"password": {"user": target}})
    return es_response(request, {})


@router.put("/_security/user/_password", dependencies=[need.own_user(_MANAGE, _PASSWORD)])
@router.post("/_security/user/_password", dependencies=[need.own_user(_MANAGE, _PASSWORD)])
async def change_own_password(request: Request) -> Response:
    """Change the caller's own password."""
    return await _change_password(request, None)


@router.put("/_security/user/{username}/_password", dependencies=[need.own_user(_MANAGE, _PASSWORD)])
@router.post("/_security/user/{username}/_password", dependencies=[need.own_user(_MANAGE, _PASSWORD)])
async def change_password(request: Request, username: str) -> Response:
    """Change a user's password (``manage_security``, or the user itself)."""
    return await _change_password(request, username)


# -- users -------------------------------------------------------------------------------------------

async def _put_user(request: Request, username: str) -> Response:
    check_params(request, ("refresh",))
    body = parse_body(UserBody, await json_body(request))
    details = {"full_name": body.full_name, "email": body.email, "metadata": body.metadata, "enabled": body.enabled}
    created = await run_in_threadpool(put_user, _store(request), username, body.password, body.roles, details)
    authenticator = request.app.state.authenticator
    authenticator.clear_cache()
    authenticator.audit("put_user", request=request, principal=need.principal_of(request),
                        put={"user": {"name": username, "enabled": body.enabled, "roles": body.roles}})
    return es_response(request, {"created": created})


@router.put("/_security/user/{username}",
            dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/user/put")])
async def put_user_route(request: Request, username: str) -> Response:
    """Create or update a native user."""
    return await _put_user(request, username)


@router.post("/_security/user/{username}",
             dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/user/put")])
async def post_user_route(request: Request, username: str) -> Response:
    """Create or update a native user."""
    return await _put_user(request, username)


async def _get_users(request: Request, names: str | None) -> Response:
    check_params(request, ("with_profile_uid",))
    users = await run_in_threadpool(_store(request).list_users)
    found = _pick(names, {u.username: {"username": u.username, "roles": user_roles(u), **user_details(u)}
                          for u in users})
    return es_response(request, found, status=200 if found or names is None else 404)


@router.get("/_security/user", dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/user/get")])
async def get_users(request: Request) -> Response:
    """Every native user (never their password hashes)."""
    return await _get_users(request, None)


@router.get("/_security/user/{username}",
            dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/user/get")])
async def get_user(request: Request, username: str) -> Response:
    """Users by name (comma-separated); 404 with ``{}`` when none exists."""
    return await _get_users(request, username)


@router.delete("/_security/user/{username}",
               dependencies=[need.cluster(_MANAGE, "cluster:admin/xpack/security/user/delete")])
async def delete_user(request: Request, username: str) -> Response:
    """Delete a native user."""
    check_params(request, ("refresh",))
    found = await run_in_threadpool(_store(request).delete_user, username)
    authenticator = request.app.state.authenticator
    authenticator.clear_cache()
    if found:
        authenticator.audit("delete_user", request=request, principal=need.principal_of(request),
                            delete={"user": {"name": username}})
    return es_response(request, {"found": found}, status=200 if found else 404)
