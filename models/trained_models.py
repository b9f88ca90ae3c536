"""Elasticsearch's trained-model APIs over our local models: ``GET /_ml/trained_models``, ``_stats`` and the
deployment ``_start`` / ``_stop`` / ``_update`` calls, as :class:`TrainedModels` (the REST routes are thin shells).

Trained models are the built-in models, their platform-optimised variants (``_linux-x86_64``: int8 builds, listed
with ``platform_architecture``) and imported ones. A deployment started here can be named by inference endpoints
through ``service_settings.deployment_id``; they then share its loaded model and its queue.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ingest.models.cache import build_dir
from ingest.models.catalogue import ModelVariant, Pooling, platform_mismatch
from ingest.models.deployments.deployment import DEFAULT_QUEUE_CAPACITY, Deployment
from ingest.models.deployments.manager import DeploymentManager
from ingest.models.deployments.scaling import MAX_ALLOCATIONS, AllocationPolicy
from ingest.models.deployments.stats import NODE_ID, trained_models_stats
from ingest.models.endpoints.registry import EndpointRegistry, EndpointStore
from ingest.models.errors import (
    IllegalArgumentException,
    ResourceNotFoundException,
    StatusException,
    ValidationException,
)
from ingest.models.imported import list_variants, resolve_variant
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import TaskType
from ingest.models.services.elasticsearch import parse_adaptive

log = logging.getLogger(__name__)
MAX_QUEUE_CAPACITY = 100_000  # Elasticsearch's upper bound for queue_capacity
MAX_THREADS = 32
CREATED_WITH = "9.1.0"
NATIVE_INDEX = ".ml-inference-native-000002"
_INCLUDES = {"definition", "definition_status", "feature_importance_baseline", "hyperparameters",
             "total_feature_importance"}
_WAIT_FOR = ("starting", "started", "fully_allocated")
_CONFIG_KEYS = {TaskType.TEXT_EMBEDDING: "text_embedding", TaskType.SPARSE_EMBEDDING: "text_expansion",
                TaskType.RERANK: "text_similarity"}


def _built_file(variant: ModelVariant) -> tuple[bool, int, int]:
    """(fully built, model file size, build time ms) from the cache, without building anything."""
    folder = build_dir(variant.spec, variant.optimized)
    manifest, onnx = folder / "manifest.json", folder / "model.onnx"
    if not manifest.is_file() or not onnx.is_file():
        return False, 0, 0
    try:
        json.loads(manifest.read_text(encoding="utf-8"))
    except ValueError:
        return False, 0, 0
    return True, onnx.stat().st_size, int(manifest.stat().st_mtime * 1000)


def model_config(variant: ModelVariant, *, definition_status: bool) -> JsonObject:
    """One ``trained_model_configs`` entry, in Elasticsearch's shape."""
    spec = variant.spec
    built, size, created = _built_file(variant)
    tokenizer = "xlm_roberta" if spec.architecture == "xlm-roberta" else "bert"
    tokenization = {tokenizer: {"do_lower_case": tokenizer == "bert", "with_special_tokens": True,
                                "max_sequence_length": spec.max_tokens, "truncate": "first", "span": -1}}
    task_config: dict[str, Any] = {"vocabulary": {"index": NATIVE_INDEX}, "tokenization": tokenization}
    if spec.task_type == TaskType.TEXT_EMBEDDING and spec.dims:
        task_config["embedding_size"] = spec.dims
    builtin = spec.source.distribution != "imported" and not spec.source.path.startswith("/")
    description = spec.description
    if variant.optimized:
        kept = ", ".join(spec.int8_fp32_groups) or "none"
        description += f"; optimised for linux-x86_64: int8 per layer (kept in fp32: {kept})"
    body: dict[str, Any] = {
        "model_id": variant.model_id,
        "model_type": "pytorch",
        "created_by": "_xpack" if builtin else "api_user",
        "version": CREATED_WITH,
        "create_time": created,
        "model_size_bytes": size,
        "estimated_operations": 0,
        "license_level": "platinum",
        "description": description,
        "tags": [],
        "metadata": {"source": f"{spec.source.distribution}=={spec.source.version}", "licence": spec.licence},
        "input": {"field_names": ["text_field"]},
        "inference_config": {_CONFIG_KEYS.get(spec.task_type, str(spec.task_type)): task_config},
        "location": {"index": {"name": NATIVE_INDEX}},
    }
    if spec.query_prefix or spec.passage_prefix:
        body["prefix_strings"] = {"search": spec.query_prefix, "ingest": spec.passage_prefix}
    if variant.platform:
        body["platform_architecture"] = variant.platform
    if definition_status:
        body["fully_defined"] = built
    return body


def _positive(params: Mapping[str, Any], key: str, problems: list[str]) -> int | None:
    raw = params.get(key)
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        problems.append(f"[{key}] must be an integer, got [{raw}]")
        return None
    if value < 1:
        problems.append(f"[{key}] must be a positive integer")
        return None
    return value


def _adaptive(raw: object, problems: list[str]) -> dict[str, Any] | None:
    return None if raw is None else parse_adaptive(raw, problems)


class HostStore(EndpointStore, Protocol):
    """The registry database as the trained-model APIs use it: endpoints, pipelines, kept deployments."""

    def put_assignment(self, deployment_id: str, params: dict[str, Any]) -> None: ...

    def assignments(self) -> dict[str, dict[str, Any]]: ...

    def delete_assignment(self, deployment_id: str) -> None: ...


class ModelHost(Protocol):
    """What the trained-model APIs use of an ``InferenceAPI``: its deployments, endpoints and stored pipelines."""

    @property
    def deployments(self) -> DeploymentManager: ...

    @property
    def registry(self) -> EndpointRegistry: ...

    @property
    def store(self) -> HostStore: ...


class TrainedModels:
    """The trained-model APIs of one ``InferenceAPI`` (its deployments, endpoints and pipelines)."""

    def __init__(self, api: ModelHost) -> None:
        self.api = api

    # -- GET -----------------------------------------------------------------------------------------

    def _select(self, ids: str | None, allow_no_match: bool) -> list[ModelVariant]:
        variants = list_variants()
        wanted = [w.strip() for w in (ids or "_all").split(",") if w.strip()]
        out = [v for v in variants if any(w in ("_all", "*") or fnmatch.fnmatchcase(v.model_id, w) for w in wanted)]
        missing = [w for w in wanted if "*" not in w and w != "_all" and w not in {v.model_id for v in out}]
        if missing or (not out and not allow_no_match):
            raise ResourceNotFoundException(f"No known trained model with model_id [{','.join(missing or wanted)}]")
        return out

    def get(self, ids: str | None = None, *, include: str | None = None, start: int = 0, size: int = 100,
            allow_no_match: bool = True) -> JsonObject:
        """``GET /_ml/trained_models[/{ids}]``: ``{"count", "trained_model_configs"}`` (paged by from/size)."""
        includes = {i.strip() for i in (include or "").split(",") if i.strip()}
        unknown = sorted(includes - _INCLUDES)
        if unknown:
            raise IllegalArgumentException(
                f"include [{','.join(unknown)}] is not supported; supported values are {sorted(_INCLUDES)}"
            )
        chosen = self._select(ids, allow_no_match)
        configs = [model_config(v, definition_status="definition_status" in includes) for v in chosen]
        return {"count": len(configs), "trained_model_configs": [*configs[start:start + size]]}

    def stats(self, ids: str | None = None, *, start: int = 0, size: int = 100,
              allow_no_match: bool = True) -> JsonObject:
        """``GET /_ml/trained_models[/{ids}]/_stats``, every figure from a counter or a file."""
        variants = list_variants()
        sizes = {v.model_id: _built_file(v)[1] for v in variants}
        counts: dict[str, int] = {}
        for config in self.api.registry.list():
            model_id = config.service_settings.get("model_id")
            if config.service in ("elasticsearch", "elser") and isinstance(model_id, str):
                counts[model_id] = counts.get(model_id, 0) + len(self.api.store.pipelines_referencing(
                    config.inference_id))
        body = trained_models_stats(variants, self.api.deployments.all(), counts, sizes, ids,
                                    start=start, size=size)
        if not allow_no_match and not body["count"]:
            raise ResourceNotFoundException(f"No known trained model with model_id [{ids or '_all'}]")
        return body

    # -- deployments ---------------------------------------------------------------------------------

    def start(self, model_id: str, params: JsonInput, body: JsonInput | None = None,
              timeout_s: float = 30) -> JsonObject:
        """``POST /_ml/trained_models/{model_id}/deployment/_start``: ``{"assignment": ...}``."""
        variant = resolve_variant(model_id)
        if variant.optimized and not variant.available:
            raise IllegalArgumentException(platform_mismatch(model_id, elser=variant.spec.pooling == Pooling.SPLADE))
        merged: dict[str, Any] = {**(body or {}), **{k: v for k, v in params.items() if v is not None}}
        problems: list[str] = []
        deployment_id = str(merged.get("deployment_id") or model_id)
        allocations = _positive(merged, "number_of_allocations", problems)
        threads = _positive(merged, "threads_per_allocation", problems) or 1
        if threads > MAX_THREADS or threads & (threads - 1):
            problems.append("[threads_per_allocation] must be a power of 2 less than or equal to 32")
        queue = _positive(merged, "queue_capacity", problems) or DEFAULT_QUEUE_CAPACITY
        if queue > MAX_QUEUE_CAPACITY:
            problems.append(f"[queue_capacity] must be less than {MAX_QUEUE_CAPACITY}")
        priority = str(merged.get("priority", "normal"))
        if priority not in ("normal", "low"):
            problems.append(f"[priority] must be one of [normal, low], got [{priority}]")
        if priority == "low" and (allocations or 1) != 1:
            problems.append("[number_of_allocations] must be 1 when [priority] is low")
        if priority == "low" and threads != 1:
            problems.append("[threads_per_allocation] must be 1 when [priority] is low")
        adaptive = _adaptive(merged.get("adaptive_allocations"), problems)
        if allocations is not None and adaptive and adaptive.get("enabled"):
            problems.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
        wait_for = str(merged.get("wait_for", "started"))
        if wait_for not in _WAIT_FOR:
            problems.append(f"[wait_for] must be one of [{', '.join(_WAIT_FOR)}], got [{wait_for}]")
        unknown = sorted(set(merged) - {"deployment_id", "number_of_allocations", "threads_per_allocation",
                                        "queue_capacity", "priority", "adaptive_allocations", "wait_for",
                                        "cache_size", "timeout"})
        if unknown:
            problems.append(f"unknown parameters {unknown}")
        if problems:
            raise ValidationException(problems)
        policy = self._policy(allocations, adaptive)
        deployment = self.api.deployments.start(deployment_id, variant.model_id, threads=threads, policy=policy,
                                                queue_capacity=queue, priority=priority)
        try:
            self._wait(deployment, wait_for, timeout_s)
        except BaseException:
            self.api.deployments.stop(deployment_id)  # as Elasticsearch deletes a failed assignment
            raise
        # Kept until _stop, as Elasticsearch keeps assignments in its persistent cluster state: a restarted
        # server deploys it again (restore).
        self.api.store.put_assignment(deployment_id, {
            "model_id": variant.model_id, "threads_per_allocation": threads, "number_of_allocations": allocations,
            "adaptive_allocations": adaptive, "queue_capacity": queue, "priority": priority})
        return {"assignment": self.assignment(deployment)}

    def restore(self) -> list[str]:
        """Start again the deployments ``_start`` created before a restart (not waiting for their models to
        load, as Elasticsearch's assignments come back ``starting``); their ids. One that cannot start (its model
        gone) is logged and left for ``_stop``."""
        restored = []
        for deployment_id, p in self.api.store.assignments().items():
            if self.api.deployments.get(deployment_id) is not None:
                continue
            try:
                self.api.deployments.start(
                    deployment_id, str(p["model_id"]), threads=int(p["threads_per_allocation"]),
                    policy=self._policy(p.get("number_of_allocations"), p.get("adaptive_allocations")),
                    queue_capacity=int(p["queue_capacity"]), priority=str(p["priority"]))
            except Exception as exc:
                log.warning("could not restore the trained model deployment [%s]: %s", deployment_id, exc)
                continue
            restored.append(deployment_id)
        return restored

    def _policy(self, allocations: int | None, adaptive: dict[str, Any] | None) -> AllocationPolicy:
        if adaptive and adaptive.get("enabled"):
            return AllocationPolicy(
                adaptive=True,
                min_allocations=adaptive.get("min_number_of_allocations", 0),
                max_allocations=adaptive.get("max_number_of_allocations", MAX_ALLOCATIONS),
                scale_down_after_s=self.api.deployments.scale_down_after_s,
            )
        return AllocationPolicy.fixed(allocations or 1)

    @staticmethod
    def _wait(deployment: Deployment, wait_for: str, timeout_s: float) -> None:
        if wait_for == "starting":
            return
        deployment.wait_started(timeout_s)
        deadline = time.monotonic() + timeout_s
        while wait_for == "fully_allocated":
            snap = deployment.snapshot()
            if snap["allocations"] >= max(snap["target"], 1):
                return
            if time.monotonic() > deadline:
                raise StatusException(
                    f"Timed out after [{timeout_s:g}s] waiting for trained model deployment "
                    f"[{deployment.deployment_id}] to start. Use the trained model stats API to track the state "
                    "of the deployment and try again once it has started.", status=408)
            time.sleep(0.02)

    def _deployment(self, deployment_id: str) -> Deployment:
        found = self.api.deployments.get(deployment_id)
        if found is None:
            raise ResourceNotFoundException(f"Could not find trained model deployment [{deployment_id}]")
        return found

    def _users(self, deployment_id: str) -> list[str]:
        """Endpoints whose requests go to this deployment (their own, or shared through deployment_id)."""
        return [c.inference_id for c in self.api.registry.list()
                if c.service in ("elasticsearch", "elser")
                and c.service_settings.get("deployment_id", c.inference_id) == deployment_id]

    def stop(self, deployment_id: str, *, force: bool = False, allow_no_match: bool = True) -> JsonObject:
        """``POST .../deployment/_stop``: ``{"stopped": true}``; 409 while pipelines use it, unless forced."""
        if self.api.deployments.get(deployment_id) is None:
            if allow_no_match and "*" in deployment_id:
                return {"stopped": True}
            raise ResourceNotFoundException(f"Could not find trained model deployment [{deployment_id}]")
        if not force and any(self.api.store.pipelines_referencing(e) for e in self._users(deployment_id)):
            raise StatusException(
                f"Cannot stop deployment [{deployment_id}] as it is referenced by ingest processors; "
                "use force to stop the deployment", status=409)
        self.api.deployments.stop(deployment_id)
        self.api.store.delete_assignment(deployment_id)
        return {"stopped": True}

    def update(self, deployment_id: str, body: JsonInput) -> JsonObject:
        """``POST .../deployment/_update``: number_of_allocations or adaptive_allocations; ``{"assignment"}``."""
        deployment = self._deployment(deployment_id)
        problems: list[str] = []
        allocations = _positive(body, "number_of_allocations", problems)
        adaptive = _adaptive(body.get("adaptive_allocations"), problems)
        unknown = sorted(set(body) - {"number_of_allocations", "adaptive_allocations"})
        if unknown:
            problems.append(f"unknown fields {unknown}")
        if allocations is None and adaptive is None and not unknown:
            problems.append("[number_of_allocations] or [adaptive_allocations] is required")
        if allocations is not None and adaptive and adaptive.get("enabled"):
            problems.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
        if problems:
            raise ValidationException(problems)
        deployment.set_policy(self._policy(allocations, adaptive))
        kept = self.api.store.assignments().get(deployment_id)
        if kept is not None:  # a deployment _start created: its restart uses the new allocations
            kept.update({"number_of_allocations": allocations, "adaptive_allocations": adaptive})
            self.api.store.put_assignment(deployment_id, kept)
        return {"assignment": self.assignment(deployment)}

    @staticmethod
    def assignment(d: Deployment) -> JsonObject:
        """Elasticsearch's ``TrainedModelAssignment`` body of a deployment."""
        snap = d.snapshot()
        policy = snap["policy"]
        count, target = snap["allocations"], max(snap["target"], policy.min_allocations)
        variant = resolve_variant(d.model_id)
        size = _built_file(variant)[1]
        body: dict[str, Any] = {
            "task_parameters": {
                "model_id": d.model_id, "deployment_id": d.deployment_id, "model_bytes": size,
                "threads_per_allocation": d.threads, "number_of_allocations": max(target, count),
                "queue_capacity": d.queue_capacity, "cache_size": f"{size}b", "priority": d.priority,
                "per_deployment_memory_bytes": 0, "per_allocation_memory_bytes": 0,
            },
            "routing_table": {NODE_ID: {"current_allocations": count, "target_allocations": target,
                                        "routing_state": "started" if count else "starting", "reason": ""}},
            "assignment_state": "started" if count else "starting",
            "start_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(d.start_time_ms / 1000))
            + f".{d.start_time_ms % 1000:03d}Z",
            "max_assigned_allocations": max(count, 1),
        }
        if policy.adaptive:
            body["adaptive_allocations"] = {"enabled": True, "min_number_of_allocations": policy.min_allocations,
                                            "max_number_of_allocations": policy.max_allocations}
        return body
