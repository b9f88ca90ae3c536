"""OpenSearch's neural-search processors: ``text_embedding``, ``sparse_encoding`` (batched like ``inference``)
and ``text_chunking``."""

from __future__ import annotations

from typing import Any

from models.errors import ElasticsearchError
from processors.base import ExecEnv, Factory, Processor
from processors.chunking import opensearch_chunks
from processors.config import Options
from processors.document import IngestDocument
from processors.errors import illegal_argument
from processors.inference import _Input, _ModelProcessor


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


PROCESSORS: list[type[Processor]] = [TextEmbeddingProcessor, SparseEncodingProcessor, TextChunkingProcessor]
