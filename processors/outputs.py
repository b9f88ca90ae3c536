"""The fields a parsed pipeline writes, and their vector types (``Pipeline.outputs()``).

Each processor that writes model output states it (``Processor.outputs``): Elasticsearch's ``inference``,
OpenSearch's ``text_embedding`` / ``sparse_encoding`` / ``text_chunking``; ``foreach`` rewrites its processor's
``_ingest._value`` paths onto the field it loops over, the ``pipeline`` processor adds the called pipeline's,
and ``on_failure`` handlers count too. Index mappings are made from this (``ingest/jobs/indexmeta.py``) instead
of re-reading the pipeline's JSON or guessing from documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

from ingest.models.errors import ElasticsearchError

if TYPE_CHECKING:
    from ingest.processors.protocols import EndpointSettings, InferenceClient

OutputKind = Literal["dense", "sparse", "chunks", "other"]

# Endpoint task types whose results are a dense vector per input, or one token → weight map.
_DENSE_TASKS = frozenset({"text_embedding", "embedding"})
_SPARSE_TASKS = frozenset({"sparse_embedding"})


@dataclass(frozen=True)
class FieldOutput:
    """One field a pipeline writes.

    ``kind``: ``dense`` (a vector), ``sparse`` (token → weight), ``chunks`` (a list of text chunks, or
    Elasticsearch's chunked results under ``_inference_fields``), ``other`` (model output that is neither, or
    an endpoint that cannot be looked up). ``dims``, ``similarity`` and ``element_type`` come from the endpoint's
    settings when it states them (dense only). ``repeated``: written once per element of a list (inside
    ``foreach``), so a document holds many of them under ``path``.
    """

    path: str
    kind: OutputKind
    processor: str
    endpoint: str | None = None
    dims: int | None = None
    similarity: str | None = None
    element_type: str | None = None
    repeated: bool = False


class WritesFields(Protocol):
    """A pipeline as the ``pipeline`` processor sees it when listing outputs."""

    def outputs(self, lookup: OutputLookup | None = None) -> list[FieldOutput]:
        """The fields it writes."""


@dataclass
class OutputLookup:
    """What listing outputs may consult: endpoints (their task type and vector settings) and called pipelines.
    ``seen`` holds the pipelines already listed, so a cycle of ``pipeline`` processors ends."""

    inference: InferenceClient | None
    resolve_pipeline: Callable[[str], WritesFields | None]
    seen: set[str] = field(default_factory=set)
    _endpoints: dict[str, EndpointSettings | None] = field(default_factory=dict)

    def endpoint(self, inference_id: str) -> EndpointSettings | None:
        """The endpoint's settings; None without an inference API or when the endpoint does not exist (running
        the pipeline reports that, per document)."""
        if inference_id not in self._endpoints:
            found = None
            if self.inference is not None:
                try:
                    found = self.inference.endpoint(inference_id)
                except ElasticsearchError:
                    found = None
            self._endpoints[inference_id] = found
        return self._endpoints[inference_id]

    def called(self, name: str) -> list[FieldOutput]:
        """The outputs of the pipeline ``name`` (none for a templated name, a missing pipeline or a cycle)."""
        if "{{" in name or name in self.seen:
            return []
        try:
            pipeline = self.resolve_pipeline(name)
        except ElasticsearchError:
            pipeline = None
        return [] if pipeline is None else pipeline.outputs(self)


def model_output(path: str, processor: str, endpoint_id: str, lookup: OutputLookup,
                 kind: OutputKind | None = None) -> FieldOutput:
    """The output of a model-calling processor: ``kind`` fixed by the processor (OpenSearch's) or, when None,
    from the endpoint's task type; the vector settings from the endpoint's ``service_settings``."""
    endpoint = lookup.endpoint(endpoint_id)
    if endpoint is None:
        return FieldOutput(path, kind or "other", processor, endpoint_id)
    task = str(endpoint.task_type)
    if kind is None:
        kind = "dense" if task in _DENSE_TASKS else "sparse" if task in _SPARSE_TASKS else "other"
    if kind != "dense":
        return FieldOutput(path, kind, processor, endpoint_id)
    settings = endpoint.service_settings
    dims = settings.get("dimensions")
    similarity = settings.get("similarity")
    element_type = settings.get("element_type")
    return FieldOutput(path, kind, processor, endpoint_id,
                       dims=int(dims) if isinstance(dims, int) and not isinstance(dims, bool) else None,
                       similarity=str(similarity).lower() if similarity else None,
                       element_type=str(element_type) if element_type else "float")


def chunked(endpoint_id: str, lookup: OutputLookup) -> bool:
    """Whether the endpoint cuts long inputs into chunks (then ``_inference_fields`` holds every chunk's result)."""
    endpoint = lookup.endpoint(endpoint_id)
    settings = None if endpoint is None else endpoint.chunking_settings
    return settings is not None and bool(settings) and settings.get("strategy") != "none"


def under(prefix: str, outputs: list[FieldOutput]) -> list[FieldOutput]:
    """``foreach``'s view: paths written to ``_ingest._value`` land on the looped-over field ``prefix``."""
    moved = []
    for out in outputs:
        if out.path == "_ingest._value":
            moved.append(replace(out, path=prefix, repeated=True))
        elif out.path.startswith("_ingest._value."):
            moved.append(replace(out, path=f"{prefix}.{out.path.removeprefix('_ingest._value.')}", repeated=True))
        else:
            moved.append(out)
    return moved
