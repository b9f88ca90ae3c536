"""Elasticsearch's ``inference`` processor and the batching shared with OpenSearch's (processors.opensearch).

The model-calling processors gather the inputs of every document in the batch and send them to the endpoint
in one ``InferenceAPI.infer`` call. Documents whose inputs are bad fail on their own; if the batched call
itself fails, the documents are retried one by one so that only the ones the endpoint rejects fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import ExecEnv, Factory, Failure, Processor
from ingest.processors.chunking import chunk_by_settings
from ingest.processors.common import plain_columns, put_column
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.errors import as_es_error, illegal_argument
from ingest.processors.outputs import FieldOutput, OutputLookup, chunked, model_output
from ingest.processors.protocols import INGEST_INFERENCE_TIMEOUT_S, InferenceClient

DEFAULT_TARGET = "ml.inference"


@dataclass
class _Input:
    doc: int
    input_field: str
    output_field: str
    text: str
    spans: list[tuple[int, int]]
    item: int | None = None  # index inside a list input (OpenSearch), else None


class _ModelProcessor(Processor):
    """Shared batching: subclasses say where inputs come from and how results are written."""

    model_id: str
    uses_chunking = False

    def endpoint_refs(self) -> list[str]:
        return [self.model_id, *super().endpoint_refs()]

    def inputs(self, doc: IngestDocument) -> list[_Input]:
        raise NotImplementedError

    def write(self, doc: IngestDocument, inputs: list[_Input], results: list[list[Any]]) -> None:
        raise NotImplementedError

    def output_hints(self) -> dict[str, str]:
        """Top-level output columns and their kind, known after the first call."""
        kind = getattr(self, "_kind", None)
        if kind is None:
            return {}
        return {i: kind for i in self.output_fields() if "." not in i}

    def output_fields(self) -> list[str]:
        return []

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        result = self.execute_batch([doc], env)[0]
        if result is not None:
            raise result.error if isinstance(result, Failure) else result

    def execute_batch(self, docs: list[IngestDocument], env: ExecEnv) -> list[ElasticsearchError | Failure | None]:
        if env.inference is None:
            err = illegal_argument("no inference API is configured for this pipeline")
            return [err for _ in docs]
        out: list[ElasticsearchError | Failure | None] = [None] * len(docs)
        settings = self._chunking(env) if self.uses_chunking else None
        per_doc: dict[int, list[_Input]] = {}
        for i, doc in enumerate(docs):
            try:
                items = self.inputs(doc)
            except Exception as exc:
                out[i] = as_es_error(exc)
                continue
            for item in items:
                item.doc = i
                item.spans = chunk_by_settings(item.text, settings) if settings else [(0, len(item.text))]
            per_doc[i] = items
        if self.skip_existing:
            self.reuse_stored(docs, per_doc, out, env)
        texts = [it.text[s:e] for items in per_doc.values() for it in items for s, e in it.spans]
        if not texts:
            return out
        try:
            flat = self._call(env, texts)
        except Exception:
            return self._one_by_one(docs, per_doc, out, env)
        pos = 0
        for i, items in per_doc.items():
            results = []
            for it in items:
                results.append(flat[pos:pos + len(it.spans)])
                pos += len(it.spans)
            try:
                self.write(docs[i], items, results)
            except Exception as exc:
                out[i] = as_es_error(exc)
        return out

    def reuse_stored(self, docs: list[IngestDocument], per_doc: dict[int, list[_Input]],
                     out: list[ElasticsearchError | Failure | None], env: ExecEnv) -> None:
        """With ``skip_existing``: copy the stored outputs of unchanged inputs and drop those inputs from
        ``per_doc`` (documents whose lookup fails leave ``per_doc`` with their error in ``out``)."""

    def _one_by_one(self, docs: list[IngestDocument], per_doc: dict[int, list[_Input]],
                    out: list[ElasticsearchError | Failure | None], env: ExecEnv) -> list[ElasticsearchError | Failure | None]:
        """Isolate the documents the endpoint rejects after a failed batched call."""
        for i, items in per_doc.items():
            try:
                texts = [it.text[s:e] for it in items for s, e in it.spans]
                flat = self._call(env, texts) if texts else []
                results, pos = [], 0
                for it in items:
                    results.append(flat[pos:pos + len(it.spans)])
                    pos += len(it.spans)
                self.write(docs[i], items, results)
            except Exception as exc:
                out[i] = as_es_error(exc)
        return out

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        """Plain string columns in, one batched call, the vector (or map) column appended: no per-document work.

        Only when every input is present and needs a single chunk; otherwise the per-document path decides.
        """
        pairs = self.columnar_pairs()
        if env is None or env.inference is None or pairs is None or self.skip_existing:
            return None
        settings = self._chunking(env) if self.uses_chunking else None
        texts: list[str] = []
        for source, _ in pairs:
            if source not in table.column_names or table.column(source).null_count:
                return None
            column = table.column(source)
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                return None
            values = column.to_pylist()
            if settings and any(len(chunk_by_settings(t, settings)) > 1 for t in values):
                return None
            texts.extend(values)
        if not texts:
            return None
        try:
            results = env.inference.infer(self.model_id, texts, input_type="ingest",
                                          timeout_s=INGEST_INFERENCE_TIMEOUT_S)
        except Exception:
            return None  # the per-document path isolates the failing documents
        embeddings = getattr(results, "embeddings", None)
        n = table.num_rows
        for k, (_, target) in enumerate(pairs):
            if isinstance(embeddings, np.ndarray):
                self._kind = "dense"
                block = np.ascontiguousarray(embeddings[k * n:(k + 1) * n], dtype=np.float32)
                column = pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1)), block.shape[1])
            elif isinstance(embeddings, list):
                self._kind = "sparse"
                column = pa.array([list(self.prune(dict(e)).items()) for e in embeddings[k * n:(k + 1) * n]],
                                  type=pa.map_(pa.string(), pa.float32()))
            else:
                return None
            table = put_column(table, target, column)
        return table

    def columnar_pairs(self) -> list[tuple[str, str]] | None:
        """(input column, output column) pairs when all are plain top-level names, else None."""
        return None

    def _chunking(self, env: ExecEnv) -> dict[str, Any] | None:
        return _client(env).endpoint(self.model_id).chunking_settings

    def _call(self, env: ExecEnv, texts: list[str]) -> list[Any]:
        results = _client(env).infer(self.model_id, texts, input_type="ingest",
                                     timeout_s=INGEST_INFERENCE_TIMEOUT_S)
        embeddings = getattr(results, "embeddings", None)
        if isinstance(embeddings, np.ndarray):
            self._kind = "dense"
            return [row.astype(np.float32).tolist() for row in embeddings]
        if isinstance(embeddings, list):
            self._kind = "sparse"
            return [self.prune(dict(e)) for e in embeddings]
        raise illegal_argument(f"inference endpoint [{self.model_id}] returns [{results.task_type}] results, "
                               "which cannot be written to a document field")

    def prune(self, weights: dict[str, float]) -> dict[str, float]:
        """Sparse-result pruning (OpenSearch's ``prune_type``); none by default."""
        return {k: float(v) for k, v in weights.items()}


def _client(env: ExecEnv) -> InferenceClient:
    if env.inference is None:
        raise illegal_argument("no inference API is configured for this pipeline")
    return env.inference


def _text(doc: IngestDocument, field: str, ignore_missing: bool) -> str | None:
    if not doc.has(field):
        if ignore_missing:
            return None
        raise illegal_argument(f"Input field [{field}] does not exist in the source document")
    value = doc.get(field)
    if value is None and ignore_missing:
        return None
    if not isinstance(value, str):
        raise illegal_argument(f"Input field [{field}] type [{java_type(value)}] is not a string")
    return value


class InferenceProcessor(_ModelProcessor):
    """Elasticsearch's ``inference`` processor (inference endpoints and text models)."""

    type = "inference"
    model_id: str
    ignore_missing: bool
    pairs: list[tuple[str, str]]
    legacy: str | None
    uses_chunking = True

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.model_id = opts.string("model_id", required=True)
        io = opts.raw("input_output")
        target = opts.string("target_field")
        field_map = opts.mapping("field_map")
        config = opts.mapping("inference_config") or {}
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.pairs = []
        if io is not None:
            if target is not None or field_map is not None:
                raise opts.error("input_output", "[input_output] cannot be combined with [target_field] or "
                                                 "[field_map]")
            for entry in io if isinstance(io, list) else [io]:
                if not isinstance(entry, dict) or not isinstance(entry.get("input_field"), str):
                    raise opts.error("input_output", "[input_field] required property is missing")
                unknown = set(entry) - {"input_field", "output_field"}
                if unknown:
                    raise opts.error("input_output", f"Unrecognized fields {sorted(unknown)} in [input_output]")
                p.pairs.append((entry["input_field"],
                                entry.get("output_field") or f"{DEFAULT_TARGET}.{entry['input_field']}"))
            if not p.pairs:
                raise opts.error("input_output", "[input_output] requires at least one input/output pair")
            p.legacy = None
        else:
            if config and (len(config) != 1 or not isinstance(next(iter(config.values())), dict)):
                raise opts.error("inference_config", "[inference_config] must hold exactly one configuration object")
            results_field = "predicted_value"
            for value in config.values():
                if isinstance(value, dict):  # checked above
                    results_field = str(value.get("results_field", results_field))
            source = next((k for k, v in (field_map or {}).items() if v == "text_field"), "text_field")
            out = target or (f"{DEFAULT_TARGET}.{opts.tag}" if opts.tag else DEFAULT_TARGET)
            p.pairs = [(source, f"{out}.{results_field}")]
            p.legacy = out
        return p

    def output_fields(self) -> list[str]:
        return [o for _, o in self.pairs]

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """Each output field, typed by the endpoint's task; chunked results under ``_inference_fields`` when the
        endpoint chunks; ``<target>.model_id`` in the legacy form."""
        out = [model_output(o, self.type, self.model_id, lookup) for _, o in self.pairs]
        if chunked(self.model_id, lookup):
            out += [FieldOutput(f"_inference_fields.{o.path}", "chunks", self.type, self.model_id, o.dims,
                                o.similarity, o.element_type) for o in list(out)]
        if self.legacy is not None:
            out.append(FieldOutput(f"{self.legacy}.model_id", "other", self.type, self.model_id))
        return out + super().outputs(lookup)

    def columnar_pairs(self) -> list[tuple[str, str]] | None:
        if self.legacy is not None or not plain_columns(*(n for pair in self.pairs for n in pair)):
            return None
        if any("." in n for pair in self.pairs for n in pair):
            return None
        return list(self.pairs)

    def inputs(self, doc: IngestDocument) -> list[_Input]:
        items = []
        for input_field, output_field in self.pairs:
            text = _text(doc, input_field, self.ignore_missing)
            if text is not None:
                items.append(_Input(0, input_field, output_field, text, []))
        return items

    def write(self, doc: IngestDocument, inputs: list[_Input], results: list[list[Any]]) -> None:
        for item, chunk_results in zip(inputs, results, strict=True):
            doc.set(item.output_field, chunk_results[0])
            if len(item.spans) > 1:
                self._store_chunks(doc, item, chunk_results)
        if self.legacy is not None and inputs:
            doc.set(f"{self.legacy}.model_id", self.model_id)

    def _store_chunks(self, doc: IngestDocument, item: _Input, chunk_results: list[Any]) -> None:
        """Chunked results as Elasticsearch stores them for semantic_text (``_inference_fields``)."""
        settings: dict[str, Any] = {"task_type": "text_embedding" if self._kind == "dense" else "sparse_embedding"}
        if self._kind == "dense":
            settings.update(dimensions=len(chunk_results[0]), element_type="float")
        chunks = [{"start_offset": s, "end_offset": e, "embeddings": r}
                  for (s, e), r in zip(item.spans, chunk_results, strict=True)]
        fields = doc.ctx.setdefault("_inference_fields", {})
        fields[item.output_field] = {"inference": {"inference_id": self.model_id, "model_settings": settings,
                                                   "chunks": {item.input_field: chunks}}}


PROCESSORS: list[type[Processor]] = [InferenceProcessor]
