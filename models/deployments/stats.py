"""``GET /_ml/trained_models/{id}/_stats``: Elasticsearch's ``trained_model_stats`` for our models and deployments.

Every number comes from a counter or a file: request counts, times and throughput from each deployment's
:class:`~ingest.models.deployments.counters.DeploymentCounters`, pending requests from its queue, model sizes from the
built ONNX file (0 until the model is built, as Elasticsearch reports a model not yet downloaded).
"""

from __future__ import annotations

import fnmatch
import platform
from typing import Any

from ingest.models.catalogue import ModelVariant
from ingest.models.deployments.deployment import Deployment
from ingest.models.errors import ResourceNotFoundException
from ingest.models.jsontypes import JsonObject

NODE_ID = "ingest-local"
# Elasticsearch's estimate of a deployment's native memory: a fixed process overhead plus twice the model
# (StartTrainedModelDeploymentAction.estimateMemoryUsageBytes for models without per-allocation figures).
MEMORY_OVERHEAD_BYTES = 240 * 1024 * 1024


def allocation_state(count: int, target: int) -> str:
    """``AllocationStatus.State`` as Elasticsearch computes it."""
    if count == 0 and target > 0:
        return "starting"
    if count < target:
        return "started"
    return "fully_allocated"


def node_info() -> JsonObject:
    """The one ML node of this process, as the ``node`` object of the stats API."""
    name = platform.node() or "ingest"
    return {NODE_ID: {"name": name, "ephemeral_id": NODE_ID, "transport_address": "127.0.0.1:9300",
                      "attributes": {}, "roles": ["ml"]}}


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
    peak = c.peak_throughput_per_minute
    node: dict[str, Any] = {
        "node": node_info(),
        "routing_state": {"routing_state": "started" if count > 0 else "starting"},
        "inference_count": c.inference_count,
        "average_inference_time_ms": round(c.average_ms(), 3),
        "average_inference_time_ms_excluding_cache_hits": round(c.average_ms(), 3),
        "average_inference_time_ms_last_minute": round(c.average_ms_last_minute(), 3),
        "inference_cache_hit_count": 0,  # no inference cache here: every request runs the model
        "inference_cache_hit_count_last_minute": 0,
        "error_count": c.error_count,
        "rejected_execution_count": c.rejected_execution_count,
        "timeout_count": c.timeout_count,
        "number_of_pending_requests": snap["queued"],
        "peak_throughput_per_minute": peak,
        "throughput_last_minute": c.throughput_last_minute(),
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
        "priority": d.priority,
        "start_time": d.start_time_ms,
        "inference_count": c.inference_count,
        "error_count": c.error_count,
        "rejected_execution_count": c.rejected_execution_count,
        "timeout_count": c.timeout_count,
        "peak_throughput_per_minute": peak,
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


def model_size_stats(model_bytes: int) -> dict[str, int]:
    """``model_size_stats``: the built file's size and Elasticsearch's memory estimate for it."""
    required = MEMORY_OVERHEAD_BYTES + 2 * model_bytes if model_bytes else 0
    return {"model_size_bytes": model_bytes, "required_native_memory_bytes": required}


def _matches(wanted: list[str], names: set[str]) -> set[str]:
    return {w for w in wanted if w in ("_all", "*") or any(fnmatch.fnmatchcase(n, w) for n in names)}


def trained_models_stats(
    variants: list[ModelVariant],
    deployments: list[Deployment],
    pipeline_counts: dict[str, int],
    sizes: dict[str, int],
    pattern: str | None,
    *,
    start: int = 0,
    size: int = 100,
) -> JsonObject:
    """``GET /_ml/trained_models/[ids]/_stats``: one entry per deployment, or per model without one.

    ``pattern`` is a comma-separated list of model ids, deployment ids or ``*`` patterns; ``start``/``size``
    page the entries (``count`` is the total, as in Elasticsearch).
    """
    known = {v.model_id for v in variants}
    by_model: dict[str, list[Deployment]] = {}
    for dep in deployments:
        by_model.setdefault(dep.model_id, []).append(dep)
    wanted = [p.strip() for p in (pattern or "_all").split(",") if p.strip()]
    entries: list[dict[str, Any]] = []
    matched: set[str] = set()
    for model_id in [v.model_id for v in variants] + sorted(set(by_model) - known):
        found: list[Deployment | None] = list(by_model.get(model_id, [])) or [None]
        for d in found:
            hits = _matches(wanted, {model_id} | ({d.deployment_id} if d is not None else set()))
            if not hits:
                continue
            matched |= hits
            entry: dict[str, Any] = {
                "model_id": model_id,
                "model_size_stats": model_size_stats(sizes.get(model_id, 0)),
                "pipeline_count": pipeline_counts.get(model_id, 0),
            }
            if d is not None:
                stats = deployment_stats(d)
                entry["deployment_stats"] = stats
                entry["inference_stats"] = {
                    "failure_count": stats["error_count"], "inference_count": stats["inference_count"],
                    "cache_miss_count": 0, "missing_all_fields_count": 0,
                    "timestamp": stats["nodes"][0].get("last_access", stats["start_time"]),
                }
            entries.append(entry)
    missing = [w for w in wanted if w not in matched and "*" not in w and w != "_all"]
    if missing:
        raise ResourceNotFoundException(f"No known trained model with model_id [{','.join(missing)}]")
    return {"count": len(entries), "trained_model_stats": [*entries[start:start + size]]}
