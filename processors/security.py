"""``set_security_user``: the authenticated user into a field (x-pack security's SetSecurityUserProcessor)."""

from __future__ import annotations

from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor, SecurityUser
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import IllegalStateException

PROPERTIES = ("USERNAME", "FULL_NAME", "EMAIL", "ROLES", "METADATA", "API_KEY", "REALM", "AUTHENTICATION_TYPE")


def _sub_object(existing: Any, values: dict[str, Any]) -> dict[str, Any] | None:
    """Fill an existing object (or a new one) with the non-null values; None when nothing is set."""
    out = existing if isinstance(existing, dict) else {}
    out.update({k: v for k, v in values.items() if v is not None and v != {}})
    return out or None


def user_object(user: SecurityUser, properties: list[str], existing: Any) -> dict[str, Any]:
    """The field's new value: ``existing`` (when an object) with the chosen properties of ``user`` set."""
    out: dict[str, Any] = existing if isinstance(existing, dict) else {}
    for prop in properties:
        if prop == "USERNAME" and user.username is not None:
            out["username"] = user.username
        elif prop == "FULL_NAME" and user.full_name is not None:
            out["full_name"] = user.full_name
        elif prop == "EMAIL" and user.email is not None:
            out["email"] = user.email
        elif prop == "ROLES" and user.roles:
            out["roles"] = list(user.roles)
        elif prop == "METADATA" and user.metadata:
            out["metadata"] = dict(user.metadata)
        elif prop == "API_KEY" and user.api_key is not None:
            api_key = _sub_object(out.get("api_key"), {k: user.api_key.get(k) for k in ("name", "id", "metadata")})
            if api_key is not None:
                out["api_key"] = api_key
        elif prop == "REALM":
            realm = _sub_object(out.get("realm"), {"name": user.realm_name, "type": user.realm_type})
            if realm is not None:
                out["realm"] = realm
        elif prop == "AUTHENTICATION_TYPE" and user.authentication_type is not None:
            out["authentication_type"] = user.authentication_type
    return out


class SetSecurityUserProcessor(Processor):
    """``set_security_user``: username, roles, realm, ... of whoever sent the request, into ``field``."""

    type = "set_security_user"
    field: str
    properties: list[str]

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        names = opts.string_list("properties", allow_string=False)
        p.properties = list(PROPERTIES) if names is None else []
        for name in names or []:
            if name.upper() not in PROPERTIES:
                raise opts.error("properties", f"[properties] Property value [{name}] is in valid")
            if name.upper() not in p.properties:
                p.properties.append(name.upper())
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        if env.user is None:
            raise IllegalStateException("Security (authentication) is not enabled on this cluster, so there is no "
                                        f"active user - the [{self.type}] processor cannot be used without security")
        doc.set(self.field, user_object(env.user, self.properties, doc.get(self.field, None)))


PROCESSORS: list[type[Processor]] = [SetSecurityUserProcessor]
