"""Who this server is, as a single Elasticsearch node: version, node id and name, roles, and the static facts
(os, jvm-ish process) that ``GET /_nodes`` reports and shippers read at start."""

from __future__ import annotations

import base64
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

VERSION = {
    "number": "9.1.0",
    "build_flavor": "default",
    "build_type": "tar",
    "build_hash": "ingest",
    "build_date": "2025-07-01T00:00:00.000Z",
    "build_snapshot": False,
    "lucene_version": "10.2.2",
    "minimum_wire_compatibility_version": "8.19.0",
    "minimum_index_compatibility_version": "8.0.0",
}
# A single node holds every role a client might look for before sending work (ingest, ml, data).
ROLES = ["data", "data_content", "data_hot", "ingest", "master", "ml", "remote_cluster_client", "transform"]
CLUSTER_NAME = "ingest"


@dataclass(frozen=True)
class Node:
    """The identity of this server as a node, stable for a home (derived from its registry path)."""

    node_id: str
    name: str
    cluster_uuid: str
    started_ms: int

    @staticmethod
    def for_home(registry_path: str) -> Node:
        """The node of the home whose registry database is ``registry_path``."""
        node_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"{registry_path}#node")
        node_id = base64.urlsafe_b64encode(node_uuid.bytes).decode().rstrip("=")  # 22 chars, like Elasticsearch's
        return Node(node_id=node_id, name=platform.node() or "ingest",
                    cluster_uuid=uuid.uuid5(uuid.NAMESPACE_URL, registry_path).hex[:22],
                    started_ms=int(time.time() * 1000))

    def matches(self, selector: str) -> bool:
        """Whether a node selector of ``/_nodes/{node_id}`` picks this node (ids, names, ``_all``, ``_local``,
        ``_master``, ``*`` patterns, ``role:true``)."""
        import fnmatch

        for part in selector.split(","):
            if part in ("_all", "_local", "_master", "*") or part in (self.node_id, self.name):
                return True
            if ":" in part:
                role, _, value = part.partition(":")
                if role in ROLES and value == "true":
                    return True
            elif "*" in part and (fnmatch.fnmatchcase(self.name, part) or fnmatch.fnmatchcase(self.node_id, part)):
                return True
        return False


def os_info() -> dict[str, Any]:
    """The ``os`` section of a node's info."""
    return {"refresh_interval_in_millis": 1000, "name": platform.system(), "pretty_name": platform.platform(),
            "arch": platform.machine(), "version": platform.release(),
            "available_processors": os.cpu_count() or 1, "allocated_processors": os.cpu_count() or 1}


def process_info(started_ms: int) -> dict[str, Any]:
    """The ``jvm`` section: this is a Python process, reported in the fields clients read."""
    return {"pid": os.getpid(), "version": platform.python_version(), "vm_name": sys.implementation.name,
            "vm_version": platform.python_version(), "vm_vendor": platform.python_implementation(),
            "start_time_in_millis": started_ms, "mem": {}, "gc_collectors": [], "memory_pools": [],
            "using_compressed_ordinary_object_pointers": "false", "input_arguments": []}
