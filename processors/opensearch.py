"""OpenSearch's neural-search processors: ``text_embedding``, ``sparse_encoding`` (batched like ``inference``)
and ``text_chunking``.

``skip_existing`` reads the documents already indexed through ``ExecEnv.stored`` (one lookup per batch and
index, implemented by the sinks in ``ingest/``); without a lookup, as in ``_simulate``, nothing is stored.
"""

from __future__ import annotations

import copy
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import Common, ExecEnv, Factory, Failure, Processor
from ingest.processors.chunking import opensearch_chunks
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import as_es_error, illegal_argument
from ingest.processors.inference import _Input, _ModelProcessor
from ingest.processors.outputs import FieldOutput, OutputKind, OutputLookup, model_output


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


def _kind_of(output: Any) -> str | None:
    """The kind ("dense" / "sparse") of a stored output: a vector, a weight map, or a list of either."""
    if isinstance(output, list) and output and isinstance(output[0], dict):
        return "dense" if "knn" in output[0] else "sparse"
    if isinstance(output, dict):
        return "sparse"
    if isinstance(output, list) and output and isinstance(output[0], int | float):
        return "dense"
    return None


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
        p.skip_existing = opts.boolean("skip_existing", False)
        p.configure(opts)
        return p
    model_id: str
    batch_size: int
    pairs: list[tuple[str, str]]

    def __init__(self, common: Common | None = None) -> None:
        super().__init__(common)
        # Outputs written as lists ([{"knn": [...]}, ...] for list inputs): not vector columns for Arrow.
        self.list_outputs: set[str] = set()

    def configure(self, opts: Options) -> None:
        """Processor-specific options."""

    def output_fields(self) -> list[str]:
        return [o for _, o in self.pairs]

    output_kind: OutputKind = "dense"

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """Each ``field_map`` output: the processor decides the kind, the endpoint the vector settings. (A list
        input gives a list of ``{"knn": vector}`` objects at the same path.)"""
        return [model_output(o, self.type, self.model_id, lookup, self.output_kind)
                for _, o in self.pairs] + super().outputs(lookup)

    def output_hints(self) -> dict[str, str]:
        return {k: v for k, v in super().output_hints().items() if k not in self.list_outputs}

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

    def reuse_stored(self, docs: list[IngestDocument], per_doc: dict[int, list[_Input]],
                     out: list[ElasticsearchError | Failure | None], env: ExecEnv) -> None:
        """``skip_existing`` as neural-search does it: one lookup of the batch's ``_index`` / ``_id`` (per
        index); for each field_map entry whose input equals the stored one (a list as a whole) and whose stored
        output exists, the stored output is copied and the input not sent to the model. Documents without
        ``_index`` or ``_id``, or not stored, are embedded as usual; no lookup (``env.stored`` None) means
        nothing is stored. A failed lookup fails the documents that needed it (neural-search's mget failure)."""
        if env.stored is None:
            return
        wanted: dict[str, list[int]] = {}
        for i, items in per_doc.items():
            index, doc_id = docs[i].ctx.get("_index"), docs[i].ctx.get("_id")
            if items and index is not None and doc_id is not None:
                wanted.setdefault(str(index), []).append(i)
        for index, members in wanted.items():
            ids = list(dict.fromkeys(str(docs[i].ctx["_id"]) for i in members))
            try:
                found = env.stored.fetch(index, ids)
            except Exception as exc:
                error = as_es_error(exc)
                for i in members:
                    out[i] = error
                    del per_doc[i]
                continue
            for i in members:
                stored = found.get(str(docs[i].ctx["_id"]))
                if stored:
                    per_doc[i] = self._copy_unchanged(docs[i], per_doc[i], IngestDocument(ctx=stored))

    def _copy_unchanged(self, doc: IngestDocument, items: list[_Input], stored: IngestDocument) -> list[_Input]:
        """The inputs still to embed once the stored outputs of unchanged inputs are copied into ``doc``."""
        reused: set[tuple[str, str]] = set()
        for input_field, output_field in self.pairs:
            old_output = stored.get(output_field, None)
            new_input = doc.get(input_field, None)
            if old_output is not None and new_input is not None and stored.get(input_field, None) == new_input:
                doc.set(output_field, copy.deepcopy(old_output))
                if isinstance(old_output, list) and old_output and isinstance(old_output[0], dict):
                    self.list_outputs.add(output_field)
                kind = _kind_of(old_output)
                if kind is not None and getattr(self, "_kind", None) is None:
                    self._kind = kind  # output column types, when no call has told them yet
                reused.add((input_field, output_field))
        return [item for item in items if (item.input_field, item.output_field) not in reused]

    def write(self, doc: IngestDocument, inputs: list[_Input], results: list[list[Any]]) -> None:
        lists: dict[str, list[Any]] = {}
        for item, chunk_results in zip(inputs, results, strict=True):
            if item.item is None:
                doc.set(item.output_field, chunk_results[0])
            else:
                self.list_outputs.add(item.output_field)
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
    output_kind: OutputKind = "sparse"
    prune_type: str
    prune_ratio: float

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
    algorithm: str
    options: dict[str, Any]
    ignore_missing: bool
    pairs: list[tuple[str, str]]

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
        p.algorithm, options = next(iter(algorithm.items()))
        if p.algorithm not in ("fixed_token_length", "delimiter", "fixed_char_length"):
            raise opts.error("algorithm", f"Chunking algorithm [{p.algorithm}] is not supported. Supported "
                                          "chunking algorithms are [fixed_token_length, delimiter, fixed_char_length]")
        if options is not None and not isinstance(options, dict):
            raise opts.error("algorithm", f"Unable to create the processor as [{p.algorithm}] parameters cannot be "
                                          "cast to [java.util.Map]")
        p.options = dict(options or {})
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

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """Each ``field_map`` output: a list of text chunks."""
        return [FieldOutput(o, "chunks", self.type) for _, o in self.pairs] + super().outputs(lookup)


PROCESSORS: list[type[Processor]] = [TextEmbeddingProcessor, SparseEncodingProcessor, TextChunkingProcessor]
