"""A pipeline: its definition (validated with pydantic at the JSON boundary) and its execution."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.models.errors import ElasticsearchError
from ingest.processors.arrow_exec import PipelineResult, run_arrow
from ingest.processors.base import EnrichSource, ExecEnv, Failure, Processor, SecurityUser, StoredSources
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.engine import run_compound
from ingest.processors.errors import ParseException
from ingest.processors.metrics import ProcessorStatsSink
from ingest.processors.outputs import FieldOutput, OutputLookup
from ingest.processors.protocols import InferenceClient


class PipelineDefinition(BaseModel):
    """The body of ``PUT /_ingest/pipeline/<id>``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    description: str | None = None
    processors: list[dict[str, Any]]
    on_failure: list[dict[str, Any]] | None = None
    version: int | None = None
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    deprecated: bool = False
    field_access_pattern: str | None = None


_KNOWN = {"description", "processors", "on_failure", "version", "_meta", "deprecated", "field_access_pattern"}


def validate_definition(pipeline_id: str, body: object) -> PipelineDefinition:
    """Validate the top level of a pipeline body with Elasticsearch's messages."""
    if not isinstance(body, dict):
        raise ParseException(f"pipeline [{pipeline_id}] must be an object, but is of type [{java_type(body)}]")
    unknown = [k for k in body if k not in _KNOWN]
    if unknown:
        raise ParseException(f"pipeline [{pipeline_id}] doesn't support one or more provided configuration "
                             f"parameters [{', '.join(unknown)}]")
    if body.get("processors") is None:
        raise ParseException("[processors] required property is missing", extra={"property_name": "processors"})
    if body.get("on_failure") == []:
        raise ParseException(f"pipeline [{pipeline_id}] cannot have an empty on_failure option defined")
    if body.get("field_access_pattern") not in (None, "classic"):
        raise ParseException(f"pipeline [{pipeline_id}] field_access_pattern "
                             f"[{body['field_access_pattern']}] is not supported (only [classic])")
    try:
        return PipelineDefinition.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ParseException(f"pipeline [{pipeline_id}] has an invalid [{where}]: {first['msg']}",
                             extra={"property_name": where}) from None


class Pipeline:
    """A parsed pipeline. ``run`` executes it on Arrow data; ``execute_docs`` on documents."""

    def __init__(self, pipeline_id: str, definition: PipelineDefinition, processors: list[Processor],
                 on_failure: list[Processor]) -> None:
        self.id = pipeline_id
        self.definition = definition
        self.processors = processors
        self.on_failure = on_failure
        # Set by whoever built the pipeline: how to find pipelines named by ``pipeline`` processors, and the
        # inference API for the inference processor.
        self.resolve_pipeline: Callable[[str], Pipeline | None] = lambda name: None
        self.inference: InferenceClient | None = None
        self.enrich: EnrichSource | None = None

    @property
    def description(self) -> str | None:
        """The pipeline's description."""
        return self.definition.description

    def env(self, stored: StoredSources | None = None, user: SecurityUser | None = None) -> ExecEnv:
        """The execution environment for this pipeline (``stored``: the documents already indexed; ``user``: who
        the request runs as)."""
        return ExecEnv(self.resolve_pipeline, self.inference, self.id, stored, user, self.enrich)

    def execute_docs(self, docs: list[IngestDocument], env: ExecEnv | None = None) -> list[Failure | None]:
        """Run on documents in place; one failure (or None) per document. Dropped docs have ``dropped`` set."""
        if env is None:
            inner = self.env()
        else:  # a called pipeline keeps the caller's environment (user, stored documents, ...)
            inner = dataclasses.replace(env, inference=env.inference if env.inference is not None else self.inference,
                                        enrich=env.enrich if env.enrich is not None else self.enrich,
                                        pipeline_id=self.id)
        previous = []
        for doc in docs:
            doc.pipeline_stack.append(self.id)
            previous.append(doc.ingest.get("pipeline"))
            doc.ingest["pipeline"] = self.id
        try:
            return run_compound(self.processors, self.on_failure, docs, inner)
        finally:
            for doc, before in zip(docs, previous, strict=True):
                doc.pipeline_stack.pop()
                doc.terminated = False
                if before is None:
                    doc.ingest.pop("pipeline", None)
                else:
                    doc.ingest["pipeline"] = before

    def run(self, data: pa.RecordBatch | pa.Table, *, columnar: bool = True,
            stored: StoredSources | None = None, user: SecurityUser | None = None,
            stats: ProcessorStatsSink | None = None) -> PipelineResult:
        """Run on a batch of documents; see ingest.processors.arrow_exec.

        ``columnar=False`` runs every processor per document (for comparisons and benchmarks). ``stored`` reads
        the documents already indexed under the rows' ``_index`` / ``_id`` (for ``skip_existing``); ``user`` is who
        the request runs as (for ``set_security_user``); ``stats`` receives per-processor counts.
        """
        return run_arrow(self, data, columnar=columnar, stored=stored, user=user, stats=stats)

    def reads_stored_documents(self) -> bool:
        """Whether some processor (here or in a pipeline it calls) compares with the stored documents, so the
        caller must give the rows their ``_index`` / ``_id`` and a ``stored`` lookup."""
        return any(proc.skip_existing for pipeline in self.reachable() for proc in pipeline.all_processors())

    def output_hints(self) -> dict[str, str]:
        """Output columns of the model-calling processors here and in the pipelines it calls, with their kind
        (``dense`` / ``sparse``) once they have run: how their values become Arrow columns."""
        hints: dict[str, str] = {}
        for pipeline in self.reachable():
            for proc in pipeline.all_processors():
                hints.update(proc.output_hints())
        return hints

    def reachable(self) -> list[Pipeline]:
        """This pipeline and those its ``pipeline`` processors name, transitively (missing ones left out)."""
        seen: set[str] = {self.id}
        found: list[Pipeline] = []
        stack: list[Pipeline] = [self]
        while stack:
            pipeline = stack.pop()
            found.append(pipeline)
            for ref in pipeline.pipeline_refs():
                if ref in seen:
                    continue
                seen.add(ref)
                try:
                    called = pipeline.resolve_pipeline(ref)
                except ElasticsearchError:
                    called = None  # the ``pipeline`` processor reports it when it runs
                if called is not None:
                    stack.append(called)
        return found

    def outputs(self, lookup: OutputLookup | None = None) -> list[FieldOutput]:
        """The model outputs this pipeline writes — processors, nested ones, ``on_failure`` handlers and called
        pipelines included — with their vector types from the endpoints (see ingest.processors.outputs). A path
        written twice is listed once: the last writer wins, as it does in the document."""
        if lookup is None:
            lookup = OutputLookup(self.inference, self.resolve_pipeline)
        lookup.seen.add(self.id)
        found: dict[str, FieldOutput] = {}
        for proc in [*self.processors, *self.on_failure]:
            for out in proc.outputs(lookup):
                found.pop(out.path, None)
                found[out.path] = out
        return list(found.values())

    def all_processors(self) -> list[Processor]:
        """Every processor, nested ones included."""
        out: list[Processor] = []
        stack = [*self.processors, *self.on_failure]
        while stack:
            proc = stack.pop()
            out.append(proc)
            stack.extend(proc.children())
        return out

    def endpoint_refs(self) -> list[str]:
        """Inference endpoints the pipeline calls."""
        return sorted({ref for p in self.processors + self.on_failure for ref in p.endpoint_refs()})

    def pipeline_refs(self) -> list[str]:
        """Pipelines named by ``pipeline`` processors."""
        return sorted({ref for p in self.processors + self.on_failure for ref in p.pipeline_refs()})


def parse_pipeline(pipeline_id: str, body: object) -> Pipeline:
    """Validate a pipeline body and build its processors (raises parse_exception / script_exception)."""
    from ingest.processors.registry import Builder

    definition = validate_definition(pipeline_id, body)
    builder = Builder()
    processors = builder.processors(definition.processors, "processors")
    on_failure = builder.processors(definition.on_failure, "on_failure") if definition.on_failure else []
    return Pipeline(pipeline_id, definition, processors, on_failure)
