"""What processors and pipelines need from the layer below and from whoever stores pipelines.

Declared here, on the consumer side, as structural protocols: ``ingest.models.api.InferenceAPI`` and
``ingest.models.store.Store`` satisfy them without naming them (mypy checks that where they are passed, e.g.
``PipelineService(Store(), InferenceAPI())``), and a test or a caching wrapper can stand in for either.
"""

from __future__ import annotations

from typing import Any, Protocol

# How long ingest-time inference (the inference processor, semantic_text fields) waits for its results. The
# REST ``_inference`` API's 30 s suits one request, not a bulk of thousands of texts queued behind other bulks on
# a loaded machine: those failed at 30 s. Elasticsearch waits without limit at ingest
# (``InferModelAction.Request.DEFAULT_TIMEOUT_FOR_INGEST = TimeValue.MAX_VALUE``); an hour keeps a stuck model
# or a remote service that keeps answering 429/503 from holding a job forever.
INGEST_INFERENCE_TIMEOUT_S = 3600.0


class EndpointSettings(Protocol):
    """An inference endpoint's configuration, as far as processors read it (``ingest.models.services.base.EndpointConfig``)."""

    @property
    def task_type(self) -> str:
        """``text_embedding``, ``sparse_embedding``, ``embedding``, ``rerank`` ..."""

    @property
    def service_settings(self) -> dict[str, Any]:
        """The service's settings (``dimensions``, ``similarity``, ``element_type`` for dense models); no secrets."""

    @property
    def chunking_settings(self) -> dict[str, Any] | None:
        """How long inputs are cut before inference (None: the endpoint does not chunk)."""


class InferenceOutput(Protocol):
    """The results of one inference call (``ingest.models.results.InferenceResults``): embedding results carry an
    ``embeddings`` attribute (an ``(n, dims)`` array, or one token → weight map per input); processors read it
    with ``getattr`` since rerank and completion results have none."""

    @property
    def task_type(self) -> str:
        """The task the results answer."""


class InferenceClient(Protocol):
    """The inference API the model-calling processors (``inference``, ``text_embedding``, ``sparse_encoding``)
    call, and pipelines ask about endpoints (``ingest.models.api.InferenceAPI``, or ``ingest.jobs.cache``'s wrapper)."""

    def infer(self, inference_id: str, inputs: str | list[str], *,
              input_type: str | None = None, timeout_s: float = 30) -> InferenceOutput:
        """Run the endpoint on ``inputs``; results in input order, or a timeout error after ``timeout_s`` (ingest
        callers pass ``INGEST_INFERENCE_TIMEOUT_S``)."""

    def endpoint(self, inference_id: str) -> EndpointSettings:
        """The endpoint's configuration (raises resource_not_found_exception when there is none)."""


class PipelineStore(Protocol):
    """Where pipeline bodies are kept (``ingest.models.store.Store``); what they mean belongs to this layer."""

    def put_pipeline(self, pipeline_id: str, body: dict[str, Any], endpoint_refs: list[str],
                     if_version: int | None = None) -> None:
        """Store a pipeline body with the endpoints it calls (``if_version``: optimistic concurrency)."""

    def get_pipelines(self, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Bodies by id for ids or ``*`` patterns (None: all)."""

    def delete_pipelines(self, pattern: str) -> list[str]:
        """Delete the pipelines matching ``pattern``; the deleted ids."""
