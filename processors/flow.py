"""Flow processors: drop, fail, pipeline, foreach, terminate, script."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import ExecEnv, Factory, Failure, Processor
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.engine import run_compound, trace_entry
from ingest.processors.errors import (
    FailProcessorException,
    IllegalStateException,
    as_es_error,
    illegal_argument,
)
from ingest.processors.outputs import FieldOutput, OutputLookup, under
from ingest.processors.painless import Script
from ingest.processors.painless.columnar import Program, compile_columnar
from ingest.processors.template import Template

MAX_PIPELINE_DEPTH = 100


class DropProcessor(Processor):
    """``drop``: the document is not indexed and no error is reported."""

    type = "drop"

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        return cls()

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        doc.dropped = True


class TerminateProcessor(Processor):
    """``terminate``: stop the current pipeline, without error (the calling pipeline continues)."""

    type = "terminate"

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        return cls()

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        doc.terminated = True


class FailProcessor(Processor):
    """``fail``: raise an error with a templated message."""

    type = "fail"
    message: Template

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.message = opts.template("message")
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        raise FailProcessorException(self.message.render(doc))


class ScriptProcessor(Processor):
    """``script``: run a Painless-subset script against ``ctx``."""

    type = "script"
    script: Script
    _columnar: Program | None

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        if opts.has("id"):
            raise opts.error("id", "stored scripts are not supported; give the script inline as [source]")
        lang = opts.string("lang", "painless")
        if lang != "painless":
            raise opts.error("lang", f"script lang [{lang}] is not supported (only a subset of painless)")
        source = opts.string("source", required=True)
        params = opts.mapping("params")
        opts.mapping("options")
        p.script = factory.script(source, params, condition=False)
        p._columnar = compile_columnar(p.script.tree)
        return p

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        if self._columnar is None:
            return None
        return self._columnar(table)

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        self.script.run(doc)
        for key in ("_index", "_id", "_routing"):
            if key in doc.ctx and doc.ctx[key] is None:
                del doc.ctx[key]


class PipelineProcessor(Processor):
    """``pipeline``: run another pipeline (cycles and excessive nesting are errors)."""

    type = "pipeline"
    ignore_missing_pipeline: bool
    name: Template

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.name = opts.template("name")
        p.ignore_missing_pipeline = opts.boolean("ignore_missing_pipeline", False)
        return p

    def pipeline_refs(self) -> list[str]:
        return [self.name.source, *super().pipeline_refs()]

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """What the called pipeline writes (nothing known for a templated name)."""
        return lookup.called(self.name.source) + super().outputs(lookup)

    def execute_batch(self, docs: list[IngestDocument], env: ExecEnv) -> list[ElasticsearchError | Failure | None]:
        out: list[ElasticsearchError | Failure | None] = [None] * len(docs)
        groups: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            groups.setdefault(self.name.render(doc), []).append(i)
        for name, members in groups.items():
            pipeline = env.resolve_pipeline(name)
            if pipeline is None:
                message = f"Pipeline processor configured for non-existent pipeline [{name}]"
                for i in members:
                    # Elasticsearch raises an illegal_state_exception, but its verbose simulate reports (and
                    # fails with) an illegal_argument_exception.
                    missing: ElasticsearchError = (IllegalStateException(message) if docs[i].trace is None
                                                   else illegal_argument(message))
                    if self.ignore_missing_pipeline:
                        # As Elasticsearch's verbose simulate shows it: an ignored error, the document unchanged.
                        trace_entry(docs[i], self, "error_ignored", error=missing, snapshot=True)
                    else:
                        trace_entry(docs[i], self, "error", error=missing)
                        out[i] = missing
                continue
            runnable = []
            for i in members:
                doc = docs[i]
                if name in doc.pipeline_stack:
                    out[i] = IllegalStateException(f"Cycle detected for pipeline: {name}")
                elif len(doc.pipeline_stack) >= MAX_PIPELINE_DEPTH:
                    out[i] = IllegalStateException(f"Too many nested pipelines. Cannot have more than "
                                                   f"{MAX_PIPELINE_DEPTH} nested pipelines")
                elif doc.trace is not None and (cycle := _static_cycle(name, doc.pipeline_stack, env)):
                    # Verbose simulate resolves the pipeline graph up front, as Elasticsearch does, and reports
                    # a cycle as one error instead of tracing the recursion.
                    out[i] = IllegalStateException(f"Cycle detected for pipeline: {cycle}")
                else:
                    trace_entry(doc, self, "success")
                    runnable.append(i)
                    continue
                err = out[i]
                trace_entry(doc, self, "error", error=err if isinstance(err, ElasticsearchError) else None)
            if not runnable:
                continue
            batch = [docs[i] for i in runnable]
            results = pipeline.execute_docs(batch, env)
            for i, result in zip(runnable, results, strict=True):
                out[i] = result
        return out


def _static_cycle(name: str, stack: list[str], env: ExecEnv) -> str | None:
    """The pipeline where a cycle closes when ``name`` is entered from ``stack`` (static names only)."""
    seen: set[str] = set()

    def walk(current: str, path: list[str]) -> str | None:
        if current in path:
            return current
        if current in seen:
            return None
        seen.add(current)
        pipeline = env.resolve_pipeline(current)
        if pipeline is None:
            return None
        for ref in pipeline.pipeline_refs():
            if "{{" not in ref and (found := walk(ref, [*path, current])):
                return found
        return None

    return walk(name, list(stack))


class ForeachProcessor(Processor):
    """``foreach``: run one processor on every element of a list (or every value of a map)."""

    type = "foreach"
    field: str
    ignore_missing: bool
    processor: Processor

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.processor = factory.processor(opts.raw("processor", required=True))
        return p

    def children(self) -> list[Processor]:
        return [self.processor, *super().children()]

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """The processor's outputs, its ``_ingest._value`` paths moved onto ``field``."""
        handlers = [out for handler in self.common.on_failure for out in handler.outputs(lookup)]
        return under(self.field, self.processor.outputs(lookup)) + handlers

    def execute_batch(self, docs: list[IngestDocument], env: ExecEnv) -> list[ElasticsearchError | Failure | None]:
        out: list[ElasticsearchError | Failure | None] = []
        for doc in docs:
            try:
                out.append(self._one(doc, env))
            except Exception as exc:
                out.append(as_es_error(exc))
        return out

    def _one(self, doc: IngestDocument, env: ExecEnv) -> Failure | None:
        values = doc.get(self.field, None)
        if values is None:
            if self.ignore_missing:
                return None
            if doc.has(self.field):
                raise illegal_argument(f"field [{self.field}] is null, cannot loop over its elements.")
            raise illegal_argument(f"field [{self.field}] not present as part of path [{self.field}]")
        if isinstance(values, dict):
            items: list[Any] = list(values.items())
        elif isinstance(values, list):
            items = list(enumerate(values))
        else:
            raise illegal_argument(f"field [{self.field}] of type [{java_type(values)}] cannot be cast to a list "
                                   "or map")
        had_value = "_value" in doc.ingest
        previous = doc.ingest.get("_value")
        new_values: Any = {} if isinstance(values, dict) else []
        try:
            for key, value in items:
                doc.ingest["_value"] = value
                if isinstance(values, dict):
                    doc.ingest["_key"] = key
                failure = run_compound([self.processor], [], [doc], env)[0]
                if failure is not None:
                    return failure
                if doc.dropped:
                    return None
                if isinstance(values, dict):
                    new_values[doc.ingest.pop("_key", key)] = doc.ingest.get("_value")
                else:
                    new_values.append(doc.ingest.get("_value"))
        finally:
            doc.ingest.pop("_key", None)
            if had_value:
                doc.ingest["_value"] = previous
            else:
                doc.ingest.pop("_value", None)
        doc.set(self.field, new_values)
        return None


PROCESSORS: list[type[Processor]] = [DropProcessor, TerminateProcessor, FailProcessor, ScriptProcessor,
                                     PipelineProcessor, ForeachProcessor]
