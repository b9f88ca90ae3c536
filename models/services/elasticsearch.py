"""The ``elasticsearch`` service (local models on ONNX Runtime) and its deprecated ``elser`` alias.

Settings follow ``ElasticsearchInternalServiceSettings``: ``model_id``, ``num_threads`` (required, a power of 2
up to 32) and either ``num_allocations`` or ``adaptive_allocations``; or ``deployment_id`` naming a deployment
started with the trained-model API, whose model and allocations the endpoint then shares. Otherwise each endpoint
gets its own deployment (``deployment_id`` = ``inference_id``, as Elasticsearch does), managed by
:class:`DeploymentManager`.

Platform variants as Elasticsearch chooses them: the ``_linux-x86_64`` ids are the int8 builds and are refused on
other platforms; the deprecated ``elser`` service without ``model_id`` takes the platform's preferred variant;
the portable ELSER id on linux-x86_64 is kept, with Elasticsearch's warning recommending the optimised one.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future
from typing import Any, ClassVar

from ingest.models.catalogue import (
    ELSER_COMPATIBLE_SPLADE,
    OPTIMIZED_PLATFORM,
    ModelSpec,
    current_platform,
    platform_mismatch,
    preferred_variant,
)
from ingest.models.deployments import DeploymentManager
from ingest.models.deployments.scaling import MAX_ALLOCATIONS
from ingest.models.errors import (
    IllegalArgumentException,
    ResourceNotFoundException,
    StatusException,
    ValidationException,
)
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import InferenceResults, InputType, TaskType
from ingest.models.services import local_rerank
from ingest.models.services.base import EndpointConfig, InferenceRequest, InferenceService

log = logging.getLogger(__name__)

MAX_THREADS = 32
_READ_ONLY = ("dimensions", "similarity", "element_type")  # shown by GET, accepted back if unchanged
_CONFIG_NAMES = {TaskType.TEXT_EMBEDDING: "text_embedding", TaskType.SPARSE_EMBEDDING: "text_expansion",
                 TaskType.RERANK: "text_similarity"}


def resolve_spec(model_id: str) -> ModelSpec:
    """A built-in or imported model spec; ``resource_not_found_exception`` for unknown ids."""
    from ingest.models.imported import resolve_model

    return resolve_model(model_id)


def check_platform(model_id: str) -> None:
    """Elasticsearch's refusal of an optimised id on another platform, and its ELSER warning on linux-x86_64."""
    from ingest.models.imported import resolve_variant

    variant = resolve_variant(model_id)
    elser = variant.spec is ELSER_COMPATIBLE_SPLADE
    if not variant.available:
        raise IllegalArgumentException(platform_mismatch(model_id, elser=elser))
    if elser and not variant.optimized and current_platform() == OPTIMIZED_PLATFORM:
        log.warning(
            "The platform agnostic model [%s] was requested on Linux x86_64. It is recommended to use the "
            "optimized model instead [%s]", model_id, variant.spec.optimized_id,
        )


def _int(settings: dict[str, Any], key: str, scope: str, problems: list[str], *, required: bool,
         minimum: int) -> int | None:
    if key not in settings:
        if required:
            problems.append(f"[{scope}] does not contain the required setting [{key}]")
        return None
    value = settings[key]
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(f"field [{key}] is not of the expected type. The value [{value}] cannot be converted to a [Integer]")
        return None
    if value < minimum:
        kind = "positive" if minimum > 0 else "non-negative"
        problems.append(f"[{scope}] Invalid value [{value}]. [{key}] must be a {kind} integer")
        return None
    return value


def parse_adaptive(raw: object, problems: list[str]) -> dict[str, Any] | None:
    """``adaptive_allocations`` with Elasticsearch's validation messages."""
    if not isinstance(raw, dict):
        problems.append("field [adaptive_allocations] is not of the expected type. The value cannot be converted to a [Map]")
        return None
    raw = dict(raw)
    scope = "adaptive_allocations"
    enabled = raw.pop("enabled", False)
    if not isinstance(enabled, bool):
        problems.append(f"field [enabled] is not of the expected type. The value [{enabled}] cannot be converted to a [Boolean]")
    lo = _int(raw, "min_number_of_allocations", scope, problems, required=False, minimum=0)
    hi = _int(raw, "max_number_of_allocations", scope, problems, required=False, minimum=1)
    unknown = sorted(set(raw) - {"min_number_of_allocations", "max_number_of_allocations"})
    if unknown:
        problems.append(f"[adaptive_allocations] contains unknown settings {unknown}")
    if lo is not None and hi is not None and hi < lo:
        problems.append("[max_number_of_allocations] must be greater than or equal to [min_number_of_allocations]")
    if hi is not None and hi > MAX_ALLOCATIONS:
        problems.append(f"[max_number_of_allocations] must be less than or equal to [{MAX_ALLOCATIONS}]")
    out: dict[str, Any] = {"enabled": enabled}
    if lo is not None:
        out["min_number_of_allocations"] = lo
    if hi is not None:
        out["max_number_of_allocations"] = hi
    return out


class ElasticsearchService(InferenceService):
    """Local models: built-in catalogue ids (with or without ``_linux-x86_64``) and imported models."""

    name: ClassVar[str] = "elasticsearch"
    task_types: ClassVar[frozenset[TaskType]] = frozenset(
        {TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING, TaskType.RERANK})
    default_model_id: ClassVar[str | None] = None
    default_spec: ClassVar[ModelSpec | None] = None  # without model_id: this model, in the platform's variant

    def __init__(self, deployments: DeploymentManager | None = None) -> None:
        self.deployments = deployments or DeploymentManager()

    def default_task_type(self, service_settings: JsonInput) -> TaskType | None:
        """The task type of the model named in the settings (PUT without a task type in the path)."""
        model_id = service_settings.get("model_id", self.default_model_id)
        if model_id is None and self.default_spec is not None:
            return self.default_spec.task_type
        if not isinstance(model_id, str):
            return None
        try:
            return resolve_spec(model_id).task_type
        except ResourceNotFoundException:
            return None

    def parse_config(
        self,
        inference_id: str,
        task_type: TaskType,
        service_settings: JsonInput,
        task_settings: JsonInput,
        chunking_settings: JsonObject | None,
    ) -> EndpointConfig:
        """Validate settings, collecting every problem; fill in the model's dimensions and similarity."""
        problems: list[str] = []
        raw = dict(service_settings)
        scope = "service_settings"
        if raw.get("deployment_id") is not None:
            return self._on_deployment(inference_id, task_type, raw, task_settings, chunking_settings)
        model_id = raw.pop("model_id", self.default_model_id)
        if model_id == local_rerank.ELASTIC_RERANKER_ID:
            raise local_rerank.elastic_reranker_absent()
        if model_id is None and self.default_spec is not None:
            model_id = preferred_variant(self.default_spec).model_id
        elif isinstance(model_id, str):
            with contextlib.suppress(ResourceNotFoundException):  # reported below with the other problems
                check_platform(model_id)
        spec: ModelSpec | None = None
        if model_id is None:
            problems.append(f"[{scope}] does not contain the required setting [model_id]")
        elif not isinstance(model_id, str):
            problems.append(f"field [model_id] is not of the expected type. The value [{model_id}] cannot be converted to a [String]")
        else:
            try:
                spec = resolve_spec(model_id)
            except ResourceNotFoundException as exc:
                problems.append(exc.reason)
        threads = _int(raw, "num_threads", scope, problems, required=True, minimum=1)
        raw.pop("num_threads", None)
        if threads is not None and (threads > MAX_THREADS or threads & (threads - 1)):
            problems.append("[threads_per_allocation] must be a power of 2 less than or equal to 32")
        allocations = _int(raw, "num_allocations", scope, problems, required=False, minimum=1)
        raw.pop("num_allocations", None)
        if allocations is not None and allocations > MAX_ALLOCATIONS:
            problems.append(f"[num_allocations] must be less than or equal to [{MAX_ALLOCATIONS}]")
        adaptive = parse_adaptive(raw.pop("adaptive_allocations"), problems) if "adaptive_allocations" in raw else None
        if allocations is None and adaptive is None and "num_allocations" not in service_settings:
            problems.append(
                f"[{scope}] does not contain one of the required settings [num_allocations, adaptive_allocations]"
            )
        if allocations is not None and adaptive and adaptive.get("enabled"):
            problems.append("[num_allocations] cannot be set if adaptive allocations is enabled")
        read_only = {k: raw.pop(k) for k in _READ_ONLY if k in raw}
        if raw:
            problems.append(
                f"Model configuration contains settings [{', '.join(sorted(raw))}] unknown to the [{self.name}] service"
            )
        rerank_settings = local_rerank.parse_task_settings(task_settings, problems, self.name) \
            if task_type == TaskType.RERANK else {}
        if task_settings and task_type != TaskType.RERANK:
            problems.append(
                f"Model configuration contains settings [{', '.join(sorted(task_settings))}] unknown to the "
                f"[{self.name}] service"
            )
        computed: dict[str, Any] = {}
        if spec is not None:
            if spec.task_type != task_type:
                problems.append(
                    f"Model [{spec.model_id}] is a [{spec.task_type}] model and cannot serve task type [{task_type}]"
                )
            if spec.dims is not None:
                computed = {"dimensions": spec.dims, "similarity": spec.similarity, "element_type": "float"}
            for key, value in read_only.items():
                if computed.get(key) != value:
                    problems.append(f"[{scope}] [{key}] is determined by the model and cannot be set to [{value}]")
        if problems:
            raise ValidationException(problems)
        assert isinstance(model_id, str) and threads is not None
        settings: dict[str, Any] = {}
        if allocations is not None:
            settings["num_allocations"] = allocations
        settings["num_threads"] = threads
        settings["model_id"] = model_id
        if adaptive is not None:
            settings["adaptive_allocations"] = adaptive
        settings.update(computed)
        return EndpointConfig(
            inference_id=inference_id,
            task_type=task_type,
            service=self.name,
            service_settings=settings,
            task_settings={**rerank_settings},
            chunking_settings=None if chunking_settings is None else dict(chunking_settings),
        )

    def _on_deployment(
        self,
        inference_id: str,
        task_type: TaskType,
        raw: dict[str, Any],
        task_settings: JsonInput,
        chunking_settings: JsonObject | None,
    ) -> EndpointConfig:
        """An endpoint on an existing deployment: settings come from the deployment (Elasticsearch's checks)."""
        deployment_id = raw.pop("deployment_id")
        model_id = raw.pop("model_id", None)
        found = self.deployments.get(str(deployment_id))
        if found is None:
            raise StatusException(f"Cannot find deployment [{deployment_id}]", status=404)
        if model_id is not None and model_id != found.model_id:
            raise StatusException(
                f"Deployment [{deployment_id}] uses model [{found.model_id}] which does not match the model "
                f"[{model_id}] in the request."
            )
        spec = resolve_spec(found.model_id)
        if spec.task_type != task_type:
            raise StatusException(
                f"Deployed model [{found.model_id}] with type [{_CONFIG_NAMES.get(spec.task_type, spec.task_type)}] "
                f"does not match the requested task type [{task_type}]"
            )
        for key in ("num_threads", "num_allocations", "adaptive_allocations", *_READ_ONLY):
            raw.pop(key, None)  # taken from the deployment, as Elasticsearch does
        if raw or task_settings:
            unknown = sorted({*raw, *task_settings})
            raise ValidationException([
                f"Model configuration contains settings [{', '.join(unknown)}] unknown to the [{self.name}] service"
            ])
        policy = found.policy
        settings: dict[str, Any] = {}
        if policy.adaptive:
            settings["adaptive_allocations"] = {"enabled": True,
                                                "min_number_of_allocations": policy.min_allocations,
                                                "max_number_of_allocations": policy.max_allocations}
        else:
            settings["num_allocations"] = policy.max_allocations
        settings |= {"num_threads": found.threads, "model_id": found.model_id, "deployment_id": deployment_id}
        if spec.dims is not None:
            settings |= {"dimensions": spec.dims, "similarity": spec.similarity, "element_type": "float"}
        return EndpointConfig(inference_id=inference_id, task_type=task_type, service=self.name,
                              service_settings=settings, task_settings={},
                              chunking_settings=None if chunking_settings is None else dict(chunking_settings))

    def start(self, endpoint: EndpointConfig, timeout_s: float) -> None:
        """Deploy the model (loading and, on first use, building it) and wait for the first allocation.

        An endpoint on an existing deployment starts nothing (Elasticsearch's ``usesExistingDeployment``).
        """
        if endpoint.service_settings.get("deployment_id"):
            return
        self.deployments.ensure(endpoint).wait_started(timeout_s)

    def updated(self, endpoint: EndpointConfig) -> None:
        """A running deployment of the endpoint takes its new allocations (one not started stays so)."""
        if not endpoint.service_settings.get("deployment_id") and self.deployments.get(endpoint.inference_id):
            self.deployments.ensure(endpoint)

    def infer(self, endpoint: EndpointConfig, request: InferenceRequest) -> InferenceResults:
        """Run the request on the endpoint's deployment, deploying it first if this process has not yet."""
        return self.deployments.ensure(endpoint).wait(self.submit(endpoint, request), request.timeout_s)

    def submit(self, endpoint: EndpointConfig, request: InferenceRequest) -> Future[InferenceResults]:
        """Queue the request on the endpoint's deployment without waiting (429 at once when its queue is full)."""
        if endpoint.task_type not in self.task_types:
            raise StatusException(f"The [{self.name}] service does not support task type [{endpoint.task_type}]")
        texts, input_type = request.inputs, request.input_type
        if endpoint.task_type == TaskType.RERANK:
            problems: list[str] = []
            given = local_rerank.parse_task_settings(request.task_settings, problems, self.name)
            if problems:
                raise ValidationException(problems)
            stored = {**endpoint.task_settings, **given}.get("return_documents", True)
            keep = request.return_documents if request.return_documents is not None else stored is not False
            work = local_rerank.rerank_work(request.query or "", texts, keep, request.top_n)
            return self.deployments.ensure(endpoint).submit(work, request.timeout_s, search=True)
        if request.task_settings:
            raise ValidationException([
                f"Model configuration contains settings [{', '.join(sorted(request.task_settings))}] unknown to "
                f"the [{self.name}] service"
            ])
        deployment = self.deployments.ensure(endpoint)
        return deployment.submit(lambda session: session.embed(texts, input_type), request.timeout_s,
                                 search=input_type == InputType.SEARCH)

    def expire(self, endpoint: EndpointConfig, future: Future[InferenceResults], timeout_s: float) -> Exception:
        """Give up on a submitted request after ``timeout_s``; the 408 to raise."""
        return self.deployments.ensure(endpoint).expire(future, timeout_s)

    def stop(self, endpoint: EndpointConfig) -> None:
        """Stop the endpoint's own deployment; a shared one (``deployment_id``) keeps running, as in Elasticsearch."""
        if endpoint.service_settings.get("deployment_id"):
            return
        self.deployments.stop(endpoint.inference_id)

    def model_version(self, endpoint: EndpointConfig) -> str:
        """``elasticsearch:<model id>:<built model version>``; changes when the model's files change."""
        from ingest.models.cache import ensure_built
        from ingest.models.imported import resolve_variant

        variant = resolve_variant(str(endpoint.service_settings["model_id"]))
        built = ensure_built(variant.spec, quantize=variant.optimized)
        return f"{self.name}:{variant.model_id}:{built.version}"


class ElserService(ElasticsearchService):
    """The deprecated ``elser`` service: ``elasticsearch`` with the ELSER model as the default model."""

    name: ClassVar[str] = "elser"
    task_types: ClassVar[frozenset[TaskType]] = frozenset({TaskType.SPARSE_EMBEDDING})
    default_spec: ClassVar[ModelSpec | None] = ELSER_COMPATIBLE_SPLADE

