"""Roles as Elasticsearch describes them (role descriptors), the built-in roles, and permission checks.

A :class:`Permission` is a stack of role sets: an action is allowed when EVERY layer allows it, and a layer
allows it when ANY of its roles does. A user has one layer (their roles); an API key has its own role
descriptors (when it has any) plus the layers of whoever created it, so a key never exceeds its owner, nor a
key made by a key the key that made it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.models.endpoints.requests import parse_body
from ingest.models.errors import IllegalArgumentException
from ingest.models.store import Store
from ingest.server.security.privileges import (
    CLUSTER,
    INDEX,
    cluster_grants,
    index_grants,
    index_pattern_matches,
    unknown_cluster,
    unknown_index,
)


class IndicesPrivileges(BaseModel):
    """One ``indices`` entry: index name patterns and the privileges granted on them."""

    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(min_length=1)
    privileges: list[str] = Field(min_length=1)
    allow_restricted_indices: bool = False

    @field_validator("names", "privileges", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RoleDescriptor(BaseModel):
    """A role: cluster privileges and index privileges (Elasticsearch's role descriptor, without FLS/DLS)."""

    model_config = ConfigDict(extra="forbid")
    cluster: list[str] = Field(default_factory=list)
    indices: list[IndicesPrivileges] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    # Accepted so that Elasticsearch bodies parse, refused when non-empty: we cannot enforce them.
    applications: list[dict[str, Any]] = Field(default_factory=list)
    run_as: list[str] = Field(default_factory=list)

    def check(self) -> RoleDescriptor:
        """Validate privilege names with Elasticsearch's messages; returns self."""
        bad = unknown_cluster(self.cluster)
        if bad:
            raise IllegalArgumentException(
                f"unknown cluster privilege [{bad[0].lower()}]. a privilege must be either one of the predefined "
                f"cluster privilege names [{','.join(sorted(CLUSTER))}] or a pattern over one of the available "
                "cluster actions")
        for entry in self.indices:
            bad = unknown_index(entry.privileges)
            if bad:
                raise IllegalArgumentException(
                    f"unknown index privilege [{bad[0].lower()}]. a privilege must be either one of the predefined "
                    f"fixed indices privileges [{','.join(sorted(INDEX))}] or a pattern over one of the available "
                    "index actions")
        if self.applications or self.run_as:
            raise IllegalArgumentException("application privileges and run_as are not supported by this server")
        return self

    def public(self) -> dict[str, Any]:
        """The descriptor as Elasticsearch returns it."""
        return {"cluster": self.cluster,
                "indices": [{"names": e.names, "privileges": e.privileges,
                             "allow_restricted_indices": e.allow_restricted_indices} for e in self.indices],
                "applications": [], "run_as": [], "metadata": self.metadata, "transient_metadata": {"enabled": True},
                **({"description": self.description} if self.description else {})}


_RESERVED_META = {"_reserved": True}
_NON_HIDDEN = "/~(([.]|ilm-history-).*)/"  # Elasticsearch's "every index that is not hidden or ILM history"

RESERVED: dict[str, RoleDescriptor] = {
    "superuser": RoleDescriptor(
        cluster=["all"], indices=[IndicesPrivileges(names=["*"], privileges=["all"], allow_restricted_indices=True)],
        metadata=_RESERVED_META, description="Grants full access to cluster management and data indices."),
    "inference_admin": RoleDescriptor(
        cluster=["manage_inference"], metadata=_RESERVED_META,
        description="Grants access necessary to manage inference models and performing inference."),
    "inference_user": RoleDescriptor(
        cluster=["monitor_inference"], metadata=_RESERVED_META,
        description="Grants access necessary to perform inference."),
    "ingest_admin": RoleDescriptor(
        cluster=["manage_index_templates", "manage_pipeline"], metadata=_RESERVED_META,
        description="Grants access to manage all index templates and all ingest pipeline configurations."),
    "editor": RoleDescriptor(
        indices=[IndicesPrivileges(names=[_NON_HIDDEN], privileges=["read", "view_index_metadata"])],
        metadata=_RESERVED_META,
        description="Grants full access to all features in Kibana and read-only access to data indices."),
    "viewer": RoleDescriptor(
        indices=[IndicesPrivileges(names=[_NON_HIDDEN], privileges=["read", "view_index_metadata"])],
        metadata=_RESERVED_META, description="Grants read-only access to all features in Kibana and data indices."),
}
ROLES = RESERVED  # the built-in role names, for CLI help and validation


def _descriptor_allows_cluster(role: RoleDescriptor, action: str, exclude: tuple[str, ...]) -> bool:
    return any(cluster_grants(p, action) for p in role.cluster if p not in exclude)


def _descriptor_allows_index(role: RoleDescriptor, action: str, index: str) -> bool:
    return any(any(index_pattern_matches(n, index) for n in e.names) and any(index_grants(p, action)
                                                                             for p in e.privileges)
               for e in role.indices)


Layer = tuple[RoleDescriptor, ...]


@dataclass(frozen=True)
class Permission:
    """The intersection of role sets (see the module docstring); never empty."""

    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a permission needs at least one role set")

    def cluster(self, action: str, exclude: tuple[str, ...] = ()) -> bool:
        """Whether the cluster ``action`` is allowed (ignoring the privileges named in ``exclude``)."""
        return all(any(_descriptor_allows_cluster(r, action, exclude) for r in layer) for layer in self.layers)

    def index(self, action: str, index: str) -> bool:
        """Whether ``action`` is allowed on the index ``index``."""
        return all(any(_descriptor_allows_index(r, action, index) for r in layer) for layer in self.layers)

    def to_json(self) -> str:
        """The layers as JSON (how an API key stores the privileges of its creator)."""
        return json.dumps([[r.model_dump(exclude_defaults=True) for r in layer] for layer in self.layers])

    @staticmethod
    def from_json(raw: str) -> Permission:
        """Inverse of :meth:`to_json`."""
        return Permission(tuple(tuple(RoleDescriptor.model_validate(r) for r in layer) for layer in json.loads(raw)))


SUPERUSER = Permission(((RESERVED["superuser"],),))


def parse_descriptors(raw: Any) -> dict[str, RoleDescriptor]:
    """``role_descriptors`` of an API key request, validated."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise IllegalArgumentException("[role_descriptors] must be an object")
    out: dict[str, RoleDescriptor] = {}
    for name, body in raw.items():
        out[name] = parse_body(RoleDescriptor, body).check()
    return out


def resolve_roles(store: Store, names: list[str]) -> Layer:
    """The descriptors of the named roles (built-in or custom); unknown names grant nothing, as in Elasticsearch."""
    custom = store.get_roles()
    found: list[RoleDescriptor] = []
    for name in names:
        if name in RESERVED:
            found.append(RESERVED[name])
        elif name in custom:
            found.append(RoleDescriptor.model_validate_json(custom[name]))
    return tuple(found)
