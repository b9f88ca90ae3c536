"""``GET /_ml/trained_models/{id}/_stats``: Elasticsearch's ``deployment_stats`` for our deployments."""

from __future__ import annotations

import fnmatch
import platform
from typing import Any

from models.deployments.deployment import Deployment
from models.errors import ResourceNotFoundException
from models.imported import list_models

NODE_ID = "ingest-local"


def allocation_state(count: int, target: int) -> str:
    """``AllocationStatus.State`` as Elasticsearch computes it."""
    if count == 0 and target > 0:
        return "starting"
    if count < target:
        return "started"
    return "fully_allocated"


def deployment_stats(d: Deployment) -> dict[str, Any]:
    """The ``deployment_stats`` object of one deployment."""
    snap = d.snapshot()
    c = snap["counters"]
    policy = snap["policy"]
    count, target = snap["allocations"], snap["target"]
    if snap["stopping"]:
        state = "stopping"
    elif snap["load_error"] is not None and count == 0:
        state = "failed"
    else:
        state = "started" if count > 0 or (policy.adaptive and policy.min_allocations == 0) else "starting"
    average = c.total_inference_ms / c.inference_count if c.inference_count else 0.0
    node: dict[str, Any] = {
        "node": {NODE_ID: {"name": platform.node() or "ingest", "roles": ["ml"]}},
        "routing_state": {"routing_state": "started" if count > 0 else "starting"},
        "inference_count": c.inference_count,
        "average_inference_time_ms": round(average, 3),
        "error_count": c.error_count,
        "rejected_execution_count": c.rejected_execution_count,
        "timeout_count": c.timeout_count,
        "number_of_pending_requests": snap["queued"],
        "peak_throughput_per_minute": 0,
        "threads_per_allocation": d.threads,
        "number_of_allocations": count,
        "start_time": d.start_time_ms,
    }
    if c.last_access_ms is not None:
        node["last_access"] = c.last_access_ms
    body: dict[str, Any] = {
        "deployment_id": d.deployment_id,
        "model_id": d.model_id,
        "threads_per_allocation": d.threads,
        "number_of_allocations": count,
        "queue_capacity": d.queue_capacity,
        "state": state,
        "allocation_status": {
            "allocation_count": count,
            "target_allocation_count": target,
            "state": allocation_state(count, target),
        },
        "priority": "normal",
        "start_time": d.start_time_ms,
        "inference_count": c.inference_count,
        "error_count": c.error_count,
        "rejected_execution_count": c.rejected_execution_count,
        "timeout_count": c.timeout_count,
        "peak_throughput_per_minute": 0,
        "nodes": [node],
    }
    if snap["load_error"] is not None:
        body["reason"] = snap["load_error"].reason
    if policy.adaptive:
        body["adaptive_allocations"] = {
            "enabled": True,
            "min_number_of_allocations": policy.min_allocations,
            "max_number_of_allocations": policy.max_allocations,
        }
    return body


def trained_models_stats(deployments: list[Deployment], pipeline_counts: dict[str, int],
                         pattern: str | None) -> dict[str, Any]:
    """``GET /_ml/trained_models/[ids]/_stats``: one entry per deployment, or per model without one.

    ``pattern`` is a comma-separated list of model ids, aliases, deployment ids or ``*`` patterns.
    """
    specs = list_models()
    canonical = {alias: s.model_id for s in specs for alias in s.all_ids}
    by_model: dict[str, list[Deployment]] = {}
    for dep in deployments:
        by_model.setdefault(canonical.get(dep.model_id, dep.model_id), []).append(dep)
    wanted = [p.strip() for p in (pattern or "_all").split(",") if p.strip()]
    entries: list[dict[str, Any]] = []
    matched: set[str] = set()
    for model_id in sorted({s.model_id for s in specs} | set(by_model)):
        spec_ids = next((s.all_ids for s in specs if s.model_id == model_id), (model_id,))
        found: list[Deployment | None] = list(by_model.get(model_id, [])) or [None]
        for d in found:
            names = {*spec_ids} | ({d.deployment_id} if d is not None else set())
            hits = {w for w in wanted if w in ("_all", "*") or any(fnmatch.fnmatchcase(n, w) for n in names)}
            if not hits:
                continue
            matched |= hits
            entry: dict[str, Any] = {"model_id": model_id, "pipeline_count": pipeline_counts.get(model_id, 0)}
            if d is not None:
                stats = deployment_stats(d)
                stats["model_id"] = model_id
                entry["deployment_stats"] = stats
                entry["inference_stats"] = {
                    "failure_count": stats["error_count"], "inference_count": stats["inference_count"],
                    "cache_miss_count": 0, "missing_all_fields_count": 0,
                    "timestamp": stats["nodes"][0].get("last_access", stats["start_time"]),
                }
            entries.append(entry)
    missing = [w for w in wanted if w not in matched and "*" not in w and w != "_all"]
    if missing:
        raise ResourceNotFoundException(f"Could not find trained model [{','.join(missing)}]")
    return {"count": len(entries), "trained_model_stats": entries}
