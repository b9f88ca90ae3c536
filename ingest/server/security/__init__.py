"""Security for the REST server, as Elasticsearch does it.

- ``authn``: who is calling (API keys, basic auth; anonymous only while the home's security is disabled, and then
  only on loopback), the per-second re-read of the persisted setting, the login cache.
- ``privileges`` + ``roles``: Elasticsearch's named privileges as action patterns, role descriptors, built-in
  roles, and :class:`~ingest.server.security.roles.Permission` (intersections, for API keys).
- ``declare``: what each route needs, declared on the route.
- ``keys``: API key and user records; ``audit``: the audit log; ``tls``: the home's CA and certificate;
  ``middleware``: authentication before routing.
"""

from ingest.server.security.authn import (
    ANONYMOUS,
    Authenticator,
    Principal,
    SecurityState,
    check_bind,
    is_loopback,
)

__all__ = ["ANONYMOUS", "Authenticator", "Principal", "SecurityState", "check_bind", "is_loopback"]
