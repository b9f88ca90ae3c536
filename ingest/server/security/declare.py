"""What each route needs, declared where the route is defined.

Every route passes one declaration in ``dependencies=[...]``::

    @router.put("/_inference/{inference_id}", dependencies=[cluster("manage_inference",
                                                                     "cluster:admin/xpack/inference/put")])
    @router.get("/{index:index}/_doc/{doc_id}", dependencies=[index("read", "indices:data/read/get")])

- ``cluster(privilege, action)``: the Elasticsearch action the route performs and the cluster privilege that
  normally grants it (checked at import: the privilege must grant the action). Any privilege granting the action
  is accepted at run time (``manage`` grants ``cluster:admin/xpack/inference/put`` too).
- ``index(privilege, action, param="index")``: an index action on the index named by the path parameter
  ``param`` (a comma-separated list: every index is checked).
- ``bulk(action)``: any authenticated caller; the route checks each item's index itself (``allowed_on_index``).
- ``api_keys(action)``: ``manage_api_key`` (all keys) or ``manage_own_api_key`` (the route then restricts the
  request to the caller's own keys, see ``only_own_keys``).
- ``own_user(privilege, action)``: a native user on itself, or ``privilege`` (``_password``).
- ``authenticated(action)``: any authenticated caller (``_authenticate``).
- ``local(action)``: only the home's own CLI (the local token of ``ingest.presence``, from a loopback peer),
  whatever the home's security state: routes that trust what the caller says (pipelines already run).

``create_app`` refuses to build an app with a route lacking a declaration, and ``tests/api/test_security_matrix``
checks every route against every built-in role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from ingest.models.errors import SecurityException
from ingest.processors.base import SecurityUser
from ingest.server.security.authn import NATIVE, Principal
from ingest.server.security.privileges import (
    cluster_granted_by,
    cluster_grants,
    index_granted_by,
    index_grants,
)


@dataclass(frozen=True)
class Requirement:
    """A route's declaration; calling it (as a FastAPI dependency) checks the request's principal."""

    kind: str  # "cluster", "index", "bulk", "api_keys", "own_user", "authenticated", "local"
    action: str
    privilege: str | None = None
    param: str | None = None
    create_action: str | None = None  # the action when the write is a create (``index_write``)

    def action_for(self, query: Mapping[str, str], path_params: Mapping[str, Any]) -> str:
        """The action a request performs: a document write is a create with ``op_type=create``, or without an id
        and without ``op_type`` (Elasticsearch's RestIndexAction defaults a generated id to ``op_type=create``)."""
        if self.create_action is None:
            return self.action
        op_type = query.get("op_type")
        if op_type == "create" or (op_type is None and path_params.get("doc_id") is None):
            return self.create_action
        return self.action

    async def __call__(self, request: Request) -> None:
        principal = principal_of(request)
        if self.kind == "cluster" and not principal.permission.cluster(self.action):
            raise denied(request, principal, self.action)
        if self.kind == "api_keys" and not principal.permission.cluster(self.action):
            raise denied(request, principal, self.action)
        if self.kind == "own_user":
            target = request.path_params.get(self.param or "username")
            own = principal.api_key is None and principal.realm[1] == "native" and target in (None, principal.username)
            if not own and not principal.permission.cluster(self.action):
                raise denied(request, principal, self.action)
        if self.kind == "local" and not is_local_client(request):
            raise denied_local(request, principal, self.action)
        if self.kind == "index":
            action = self.action_for(request.query_params, request.path_params)
            names = str(request.path_params.get(self.param or "index", "")).split(",")
            refused = [n for n in names if not principal.permission.index(action, n)]
            if refused:
                raise denied(request, principal, action, refused)


def principal_of(request: Request) -> Principal:
    """The authenticated caller (set by the security middleware)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the middleware did not run: refuse rather than guess
        raise SecurityException("request was not authenticated", status=401)
    return principal


def is_local_client(request: Request) -> bool:
    """Whether the request carries this server's local token (``ingest.presence``) from a loopback peer,
    whatever the home's security state (with security disabled every loopback caller is the anonymous superuser,
    but only the home's own CLI holds the token)."""
    authenticator = getattr(request.app.state, "authenticator", None)
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return (authenticator is not None and scheme.lower() == "apikey"
            and bool(authenticator.is_local_client(value.strip(), request)))


def denied_local(request: Request, principal: Principal, action: str) -> SecurityException:
    """The 403 of a local-only route for anyone but the home's own CLI (a superuser included); audited."""
    authenticator = getattr(request.app.state, "authenticator", None)
    if authenticator is not None:
        authenticator.audit("access_denied", request=request, principal=principal, action=action, indices=None)
    return SecurityException(f"action [{action}] is unauthorized for {principal.describe()}: only the local "
                             "client of this INGEST_HOME (its local token, from a loopback address) may use it",
                             status=403)


def security_user(request: Request) -> SecurityUser | None:
    """The caller as ``set_security_user`` sees it (x-pack's SetSecurityUserProcessor), or None while security
    is disabled (the anonymous superuser is nobody: Elasticsearch refuses the processor without security)."""
    p = principal_of(request)
    if p.realm[1] == "anonymous":
        return None
    if p.api_key is not None:  # an API key acts as its owner, with no roles of its own; its realm is its creator's
        owner_realm = str(p.details.get("owner_realm", "reserved"))
        realm_type = NATIVE[1] if owner_realm == NATIVE[0] else owner_realm
        api_key = {"id": p.api_key[0], "name": p.api_key[1], "metadata": p.details.get("api_key_metadata") or None}
        return SecurityUser(p.username, [], realm_name=owner_realm, realm_type=realm_type,
                            authentication_type="API_KEY", api_key=api_key)
    return SecurityUser(p.username, list(p.roles), full_name=p.details.get("full_name"),
                        email=p.details.get("email"), metadata=dict(p.details.get("metadata") or {}),
                        realm_name=p.realm[0], realm_type=p.realm[1], authentication_type="REALM")


def denied(request: Request | None, principal: Principal, action: str,
           indices: list[str] | None = None) -> SecurityException:
    """Elasticsearch's 403 for ``action`` (on ``indices`` when it is an index action); audited."""
    # Elasticsearch names a user's roles; an API key's descriptors have no roles to name.
    who = principal.describe() + ("" if principal.api_key else f" with effective roles [{','.join(principal.roles)}]")
    if indices is not None:
        reason = (f"action [{action}] is unauthorized for {who} on indices [{','.join(indices)}], this action is "
                  f"granted by the index privileges [{','.join(index_granted_by(action))}]")
    else:
        reason = (f"action [{action}] is unauthorized for {who}, this action is granted by the cluster privileges "
                  f"[{','.join(cluster_granted_by(action))}]")
    if request is not None:
        authenticator = getattr(request.app.state, "authenticator", None)
        if authenticator is not None:
            authenticator.audit("access_denied", request=request, principal=principal, action=action,
                                indices=indices)
    return SecurityException(reason, status=403)


def cluster(privilege: str, action: str) -> Any:
    """Declare a cluster action (see the module docstring)."""
    if not cluster_grants(privilege, action):
        raise ValueError(f"cluster privilege [{privilege}] does not grant [{action}]")
    return Depends(Requirement("cluster", action, privilege))


def index(privilege: str, action: str, param: str = "index") -> Any:
    """Declare an index action on the path parameter ``param``."""
    if not index_grants(privilege, action):
        raise ValueError(f"index privilege [{privilege}] does not grant [{action}]")
    return Depends(Requirement("index", action, privilege, param))


def index_write() -> Any:
    """Declare a single-document index request: ``create_doc`` suffices for a create (``op_type=create`` or a
    generated id), ``index`` is needed to overwrite (as Elasticsearch's CreateDocsIndexPrivilegeTests)."""
    return Depends(Requirement("index", "indices:data/write/index", "index", "index",
                               create_action="indices:data/write/index:op_type/create"))


def bulk(action: str = "indices:data/write/bulk") -> Any:
    """Declare a route that checks each item's index itself."""
    return Depends(Requirement("bulk", action))


def api_keys(action: str) -> Any:
    """Declare an API key action (own keys with ``manage_own_api_key``, any with ``manage_api_key``)."""
    return Depends(Requirement("api_keys", action, "manage_own_api_key"))


def own_user(privilege: str, action: str, param: str = "username") -> Any:
    """Declare a user action any native user may perform on itself (path parameter ``param`` absent or its own
    name), and ``privilege`` on anyone (changing a password)."""
    if not cluster_grants(privilege, action):
        raise ValueError(f"cluster privilege [{privilege}] does not grant [{action}]")
    return Depends(Requirement("own_user", action, privilege, param))


def authenticated(action: str) -> Any:
    """Declare a route any authenticated caller may use."""
    return Depends(Requirement("authenticated", action))


def local(action: str) -> Any:
    """Declare a route only the home's own CLI may use (see ``is_local_client``)."""
    return Depends(Requirement("local", action))


def only_own_keys(principal: Principal, action: str) -> bool:
    """Whether the caller may touch only its own API keys (granted by ``manage_own_api_key`` alone)."""
    return not principal.permission.cluster(action, exclude=("manage_own_api_key",))


def allowed_on_index(principal: Principal, action: str, index_name: str) -> bool:
    """Whether ``principal`` may perform the index ``action`` on ``index_name``."""
    return principal.permission.index(action, index_name)


def declaration(route: APIRoute) -> Requirement | None:
    """The requirement declared on ``route``, if any."""
    for dep in route.dependencies:
        if isinstance(dep.dependency, Requirement):
            return dep.dependency
    return None


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route, including those of included routers (which FastAPI keeps nested)."""
    found: list[APIRoute] = []
    stack = list(routes)
    while stack:
        route = stack.pop(0)
        nested = getattr(route, "original_router", None)
        if nested is not None:
            stack.extend(nested.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def undeclared(routes: list[Any]) -> list[str]:
    """``METHOD path`` of every API route without a declaration."""
    return [f"{m} {route.path}" for route in api_routes(routes) if declaration(route) is None
            for m in sorted(route.methods or ())]
