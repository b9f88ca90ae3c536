"""Inference processors: Elasticsearch's ``inference`` and OpenSearch's ``text_embedding``, ``sparse_encoding``
and ``text_chunking``.

The model-calling processors gather the inputs of every document in the batch and send them to the endpoint
in one ``InferenceAPI.infer`` call. Documents whose inputs are bad fail on their own; if the batched call
itself fails, the documents are retried one by one so that only the ones the endpoint rejects fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from models.errors import ElasticsearchError
from processors.base import ExecEnv, Factory, Failure, Processor
from processors.chunking import chunk_by_settings, opensearch_chunks
from processors.common import plain_columns, put_column
from processors.config import Options
from processors.document import IngestDocument, java_type
from processors.errors import as_es_error, illegal_argument

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
        """Output columns and their kind ("dense"/"sparse"), known after the first call."""
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
        if env is None or env.inference is None or pairs is None:
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
            results = env.inference.infer(self.model_id, texts, input_type="ingest")
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
        config = env.inference.endpoint(self.model_id)
        return getattr(config, "chunking_settings", None)

    def _call(self, env: ExecEnv, texts: list[str]) -> list[Any]:
        results = env.inference.infer(self.model_id, texts, input_type="ingest")
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
    model_id: Any
    ignore_missing: Any
    pairs: Any
    legacy: Any
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
                results_field = value.get("results_field", results_field)
            source = next((k for k, v in (field_map or {}).items() if v == "text_field"), "text_field")
            out = target or (f"{DEFAULT_TARGET}.{opts.tag}" if opts.tag else DEFAULT_TARGET)
            p.pairs = [(source, f"{out}.{results_field}")]
            p.legacy = out
        return p

    def output_fields(self) -> list[str]:
        return [o for _, o in self.pairs]

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


def _field_map_pairs(field_map: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """OpenSearch field maps, nested maps included: {"a": {"b": "b_vec"}} → ("a.b", "a.b_vec")."""
    pairs = []
    for key, value in field_map.items():
        if isinstance(value, dict):
            pairs.extend(_field_map_pairs(value, f"{prefix}{key}."))
        elif isinstance(value, str):
            pairs.append((f"{prefix}{key}", f"{prefix}{value}"))
        else:
            raise illegal_argument(f"[field_map] value for [{key}] must be a string or a map")
    return pairs


class _OpenSearchModelProcessor(_ModelProcessor):
    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.model_id = opts.string("model_id", required=True)
        field_map = opts.mapping("field_map", required=True) or {}
        if not field_map:
            raise opts.error("field_map", "Unable to create the processor as field_map has invalid key or value")
        try:
            p.pairs = _field_map_pairs(field_map)
        except ElasticsearchError as exc:
            raise opts.error("field_map", exc.reason) from None
        p.batch_size = opts.integer("batch_size", 1)
        if p.batch_size < 1:
            raise opts.error("batch_size", "batch_size must be a positive integer")
        if opts.boolean("skip_existing", False):
            raise opts.error("skip_existing", "[skip_existing] is not supported here: the ingest job's "
                                              "skip-unchanged cache skips unchanged documents instead")
        p.configure(opts)
        return p
    model_id: Any
    batch_size: Any
    pairs: Any

    def configure(self, opts: Options) -> None:
        """Processor-specific options."""

    def output_fields(self) -> list[str]:
        return [o for _, o in self.pairs]

    def inputs(self, doc: IngestDocument) -> list[_Input]:
        items = []
        for input_field, output_field in self.pairs:
            value = doc.get(input_field, None)
            if value is None:
                continue  # OpenSearch skips absent inputs
            texts = value if isinstance(value, list) else [value]
            for k, text in enumerate(texts):
                if not isinstance(text, str):
                    raise illegal_argument(f"field [{input_field}] is neither string nor nested type, cannot "
                                           "process it")
                items.append(_Input(0, input_field, output_field, text, [],
                                    k if isinstance(value, list) else None))
        return items

    def write(self, doc: IngestDocument, inputs: list[_Input], results: list[list[Any]]) -> None:
        lists: dict[str, list[Any]] = {}
        for item, chunk_results in zip(inputs, results, strict=True):
            if item.item is None:
                doc.set(item.output_field, chunk_results[0])
            else:
                lists.setdefault(item.output_field, []).append(
                    {"knn": chunk_results[0]} if self._kind == "dense" else chunk_results[0])
        for field, values in lists.items():
            doc.set(field, values)


class TextEmbeddingProcessor(_OpenSearchModelProcessor):
    """OpenSearch's ``text_embedding``."""

    type = "text_embedding"


class SparseEncodingProcessor(_OpenSearchModelProcessor):
    """OpenSearch's ``sparse_encoding``, with ``prune_type`` / ``prune_ratio``."""

    type = "sparse_encoding"
    prune_type: Any
    prune_ratio: Any

    def configure(self, opts: Options) -> None:
        self.prune_type = opts.string("prune_type", "none")
        if self.prune_type not in ("none", "top_k", "alpha_mass", "max_ratio", "abs_value"):
            raise opts.error("prune_type", f"Unknown prune type: {self.prune_type}")
        ratio = opts.number("prune_ratio", None)
        if self.prune_type != "none" and ratio is None:
            raise opts.error("prune_ratio", "prune_ratio field is required when prune_type is not none")
        if self.prune_type == "none" and ratio is not None:
            raise opts.error("prune_ratio", "prune_ratio field is not supported when prune_type is none")
        if ratio is not None and ((self.prune_type in ("alpha_mass", "max_ratio") and not 0 <= ratio < 1)
                                  or (self.prune_type == "top_k" and (ratio < 1 or ratio != int(ratio)))
                                  or ratio < 0):
            raise opts.error("prune_ratio", f"Illegal prune_ratio {ratio} for prune_type: {self.prune_type}")
        self.prune_ratio = ratio or 0.0

    def prune(self, weights: dict[str, float]) -> dict[str, float]:
        items = sorted(((k, float(v)) for k, v in weights.items()), key=lambda kv: -kv[1])
        r = self.prune_ratio
        if self.prune_type == "top_k":
            items = items[:int(r)]
        elif self.prune_type == "max_ratio" and items:
            items = [kv for kv in items if kv[1] >= items[0][1] * r]
        elif self.prune_type == "abs_value":
            items = [kv for kv in items if kv[1] >= r]
        elif self.prune_type == "alpha_mass":
            total, mass = sum(v for _, v in items), 0.0
            kept: list[tuple[str, float]] = []
            for kv in items:
                if kept and mass >= total * r:
                    break
                kept.append(kv)
                mass += kv[1]
            items = kept
        return dict(items)


class TextChunkingProcessor(Processor):
    """OpenSearch's ``text_chunking`` (no model): a string field into a list of chunk strings."""

    type = "text_chunking"
    algorithm: Any
    options: Any
    ignore_missing: Any
    pairs: Any

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        field_map = opts.mapping("field_map", required=True) or {}
        try:
            p.pairs = _field_map_pairs(field_map)
        except ElasticsearchError as exc:
            raise opts.error("field_map", exc.reason) from None
        algorithm = opts.mapping("algorithm", required=True) or {}
        if len(algorithm) != 1:
            raise opts.error("algorithm", "Unable to create the processor as [algorithm] must contain and only "
                                          "contain 1 algorithm")
        p.algorithm, p.options = next(iter(algorithm.items()))
        if p.algorithm not in ("fixed_token_length", "delimiter", "fixed_char_length"):
            raise opts.error("algorithm", f"Chunking algorithm [{p.algorithm}] is not supported. Supported "
                                          "chunking algorithms are [fixed_token_length, delimiter, fixed_char_length]")
        p.options = dict(p.options or {})
        rate = float(p.options.get("overlap_rate", 0.0))
        if not 0 <= rate <= 0.5:
            raise opts.error("algorithm", "Parameter [overlap_rate] must be between 0 and 0.5")
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        for input_field, output_field in self.pairs:
            value = doc.get(input_field, None)
            if value is None and (self.ignore_missing or not doc.has(input_field)):
                continue
            texts = value if isinstance(value, list) else [value]
            chunks: list[str] = []
            for text in texts:
                if not isinstance(text, str):
                    raise illegal_argument(f"field [{input_field}] is neither string nor nested type, cannot "
                                           "process it")
                try:
                    chunks.extend(opensearch_chunks(text, self.algorithm, self.options))
                except ValueError as exc:
                    raise illegal_argument(str(exc)) from None
            doc.set(output_field, chunks)


PROCESSORS: list[type[Processor]] = [InferenceProcessor, TextEmbeddingProcessor, SparseEncodingProcessor,
                                     TextChunkingProcessor]
