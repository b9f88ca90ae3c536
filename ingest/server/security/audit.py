"""The audit log (opt-in: ``ingest security enable --audit``): one JSON line per security event.

Events and fields are named as in Elasticsearch's logfile audit trail (``event.action``:
``authentication_failed``, ``access_denied``, and ``event.type: security_config_change`` with actions such as
``create_apikey``, ``invalidate_apikeys``, ``put_role``, ``put_user``). Credentials are never written. The file
(``$INGEST_HOME/logs/audit.json``) is created 0600 in a 0700 folder.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request

from ingest.models.store import Store

CONFIG_CHANGES = frozenset({"create_apikey", "invalidate_apikeys", "put_role", "delete_role", "put_user",
                            "delete_user", "change_password", "security_enable", "security_disable"})
_ORIGIN = "origin.type"


class AuditLog:
    """Appends audit events to one file; safe to share between threads and processes (O_APPEND lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, event_action: str, *, request: Request | None = None, principal: Any = None,
              **fields: Any) -> None:
        """Append one event (``event_action`` is Elasticsearch's ``event.action``; ``fields`` are added as is)."""
        event: dict[str, Any] = {
            "type": "audit",
            "@timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "event.type": "security_config_change" if event_action in CONFIG_CHANGES else
            ("rest" if event_action == "authentication_failed" else "transport"),
            "event.action": event_action,
        }
        if principal is not None:
            event["user.name"] = principal.username
            event["user.realm"] = principal.realm[0]
            event["user.roles"] = list(principal.roles)
            event["authentication.type"] = "API_KEY" if principal.api_key else "REALM"
            if principal.api_key:
                event["apikey.id"], event["apikey.name"] = principal.api_key
        if request is not None:
            client = request.scope.get("client")
            event["origin.type"] = "rest"
            if client:
                event["origin.address"] = f"{client[0]}:{client[1]}"
            event["url.path"] = request.url.path
            event["request.method"] = request.method
        event.update({k: v for k, v in fields.items() if v is not None})
        line = (json.dumps(event, default=str) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def audit_local(store: Store, event_action: str, *, force: bool = False, **fields: Any) -> None:
    """Audit a change made from the local CLI (``origin.type: local_cli``) when the home's audit log is on."""
    if force or store.get_setting("security.audit") == "true":
        extra: dict[str, Any] = {_ORIGIN: "local_cli", **fields}
        AuditLog(store.path.parent / "logs" / "audit.json").write(event_action, **extra)
