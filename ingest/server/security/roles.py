"""Built-in roles and the privilege each request needs, named as in Elasticsearch."""

from __future__ import annotations

ROLES: dict[str, frozenset[str]] = {
    "inference_admin": frozenset({
        "manage_inference", "monitor_inference", "monitor_ml", "manage_pipeline", "read_pipeline", "write",
        "manage_own_api_key",
    }),
    "inference_user": frozenset({"monitor_inference", "monitor_ml", "read_pipeline", "manage_own_api_key"}),
    "superuser": frozenset({"all"}),
}

# Cluster privileges that grant a privilege, as listed in Elasticsearch's 403 messages.
GRANTED_BY = {
    "manage_inference": ["manage_inference", "manage_ml", "manage", "all"],
    "monitor_inference": ["monitor_inference", "manage_inference", "monitor_ml", "manage_ml", "monitor", "manage",
                          "all"],
    "monitor_ml": ["monitor_ml", "manage_ml", "monitor", "manage", "all"],
    "manage_pipeline": ["manage_pipeline", "manage_ingest_pipelines", "manage", "all"],
    "read_pipeline": ["read_pipeline", "manage_pipeline", "manage_ingest_pipelines", "monitor", "manage", "all"],
    "write": ["write", "all"],
    "manage_own_api_key": ["manage_own_api_key", "manage_api_key", "manage_security", "all"],
    "manage_security": ["manage_security", "all"],
    "monitor": ["monitor", "manage", "all"],
}


def has_privilege(role: str, privilege: str) -> bool:
    """Whether ``role`` grants ``privilege``."""
    granted = ROLES.get(role, frozenset())
    return any(p in granted for p in GRANTED_BY.get(privilege, [privilege, "all"]))


def required(method: str, path: str) -> tuple[str, str] | None:
    """(privilege, Elasticsearch action name) a request needs; None for the root info document."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    head = parts[0]
    if head == "_inference":
        if method in ("PUT", "DELETE"):
            action = "update" if parts[-1] == "_update" else ("put" if method == "PUT" else "delete")
            return "manage_inference", f"cluster:admin/xpack/inference/{action}"
        if method == "POST" and parts[-1] == "_update":
            return "manage_inference", "cluster:admin/xpack/inference/update"
        action = "get" if method in ("GET", "HEAD") else "post"
        return "monitor_inference", f"cluster:monitor/xpack/inference/{action}"
    if head == "_ml":
        return "monitor_ml", "cluster:monitor/xpack/ml/trained_models/stats/get"
    if head == "_ingest":
        if method in ("PUT", "DELETE"):
            return "manage_pipeline", f"cluster:admin/ingest/pipeline/{method.lower()}"
        return "read_pipeline", "cluster:admin/ingest/pipeline/get"
    if head == "_prometheus":  # OpenSearch's Prometheus exporter names it so
        return "monitor", "cluster:monitor/prometheus/metrics"
    if head == "_security":
        if parts[1:2] == ["_authenticate"]:
            return None
        return "manage_own_api_key", "cluster:admin/xpack/security/api_key"
    return "write", f"indices:data/write/{head}"
