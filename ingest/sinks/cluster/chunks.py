"""Chunked inference results on their way to a cluster: ``_inference_fields.<out>`` → nested ``<out>_chunks``.

The ``inference`` processor keeps every chunk of a long input the way Elasticsearch 9 keeps semantic_text
chunks: ``_inference_fields.<out>.inference.chunks.<input> = [{start_offset, end_offset, embeddings}]``. The
embedded store keeps that shape, but Elasticsearch's inference plugin reserves ``_inference_fields`` as a metadata
field for semantic_text (any other entry is refused: "Illegal inference field [<out>] found."), and without that
plugin (the integ-test distribution, OpenSearch) it is mapped dynamically as a plain object of ``float`` numbers,
which no query can search. So the Elasticsearch and OpenSearch sinks send each chunk list as a regular nested
field, ``<out>_chunks: [{text, start_offset, end_offset, embeddings}]``, mapped ``nested`` with ``embeddings`` as
the same vector type as ``<out>`` — the layout a nested k-NN query with ``inner_hits`` searches, and the one
OpenSearch's text_chunking + text_embedding users know.

The mapping is added lazily, before the first bulk that carries a chunk field, because chunks appear only for
long inputs, typically not in the first bulk from which a job maps its index.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ingest.sinks.base import BulkAction, FieldHint
from ingest.sinks.bulk.items import copy_path, get_path, set_path
from ingest.sinks.cluster.mappings import VectorMapper, find_field

INFERENCE_FIELDS = "_inference_fields"
CHUNKS_SUFFIX = "_chunks"

Weights = Callable[[dict[str, float]], dict[str, float]]
Kind = Literal["dense", "sparse"]


@dataclass(frozen=True)
class ChunkField:
    """A ``<out>_chunks`` field of a document: where it is, whose chunks, and what its embeddings are."""

    path: str
    output: str
    kind: Kind
    dims: int | None

    def hint(self) -> FieldHint:
        """The embeddings' field hint (similarity is taken from ``<out>``'s mapping when there is one)."""
        return FieldHint(self.kind, self.dims, "cosine" if self.kind == "dense" else None)


def nest_chunks(source: dict[str, Any], clean: Weights | None = None) -> tuple[dict[str, Any], list[ChunkField]]:
    """``source`` without ``_inference_fields``, each of its entries turned into a ``<out>_chunks`` list.

    The caller's document is not modified. ``clean`` filters sparse weights (OpenSearch drops non-positive
    ones). Raises ValueError naming the entry when ``_inference_fields`` is malformed.
    """
    if INFERENCE_FIELDS not in source:
        return source, []
    out = {k: v for k, v in source.items() if k != INFERENCE_FIELDS}
    raw = source[INFERENCE_FIELDS]
    if isinstance(raw, str):  # a column of mixed types comes out of Arrow as JSON text
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError(f"[{INFERENCE_FIELDS}] is not an object") from None
    if raw is None:
        return out, []
    if not isinstance(raw, dict):
        raise ValueError(f"[{INFERENCE_FIELDS}] must be an object, got {type(raw).__name__}")
    fields: list[ChunkField] = []
    for output, entry in raw.items():
        if entry is None:  # Arrow gives every row the keys other rows have
            continue
        inference = entry.get("inference") if isinstance(entry, dict) else None
        chunks_by_input = inference.get("chunks") if isinstance(inference, dict) else None
        if not isinstance(chunks_by_input, dict):
            raise ValueError(f"[{INFERENCE_FIELDS}.{output}] has no [inference.chunks] object")
        entries: list[dict[str, Any]] = []
        shapes: set[tuple[Kind, int | None]] = set()
        for input_field, chunks in chunks_by_input.items():
            if chunks is None:
                continue
            if not isinstance(chunks, list):
                raise ValueError(f"[{INFERENCE_FIELDS}.{output}.inference.chunks.{input_field}] must be a list")
            found, text = get_path(source, input_field)
            for n, chunk in enumerate(chunks):
                where = f"{INFERENCE_FIELDS}.{output}.inference.chunks.{input_field}[{n}]"
                entry_out, shape = _chunk(chunk, text if found and isinstance(text, str) else None, clean, where)
                entries.append(entry_out)
                shapes.add(shape)
        if not entries:
            continue
        if len(shapes) > 1:
            raise ValueError(f"[{INFERENCE_FIELDS}.{output}] mixes embeddings of different kinds or dimensions")
        kind, dims = shapes.pop()
        path = output + CHUNKS_SUFFIX
        if get_path(out, path)[0]:
            raise ValueError(f"field [{path}] already exists in the document, where the chunks of [{output}] go")
        out = copy_path(out, path)  # the objects along the path may be shared with the caller's document
        set_path(out, path, entries)
        fields.append(ChunkField(path, output, kind, dims))
    return out, fields


def _chunk(chunk: Any, text: str | None, clean: Weights | None, where: str
           ) -> tuple[dict[str, Any], tuple[Kind, int | None]]:
    """One chunk as a nested entry, and its embeddings' (kind, dims)."""
    if not isinstance(chunk, dict):
        raise ValueError(f"[{where}] must be an object")
    start, end, emb = chunk.get("start_offset"), chunk.get("end_offset"), chunk.get("embeddings")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool) \
            or not 0 <= start <= end:
        raise ValueError(f"[{where}] needs integer [start_offset] <= [end_offset], got [{start}] and [{end}]")
    out: dict[str, Any] = {}
    if text is not None:
        out["text"] = text[start:end]
    out["start_offset"], out["end_offset"] = start, end
    if isinstance(emb, list) and emb and all(isinstance(x, int | float) and not isinstance(x, bool) for x in emb):
        out["embeddings"] = emb
        return out, ("dense", len(emb))
    if isinstance(emb, dict) and all(isinstance(w, int | float | None) and not isinstance(w, bool) for w in emb.values()):
        weights = {str(t): float(w) for t, w in emb.items() if w is not None}  # Arrow structs pad missing tokens
        out["embeddings"] = clean(weights) if clean else weights
        return out, ("sparse", None)
    raise ValueError(f"[{where}.embeddings] must be a list of numbers or a token → weight object")


def nest_action(action: BulkAction, clean: Weights | None = None) -> tuple[BulkAction, list[ChunkField]]:
    """``nest_chunks`` on the document(s) of a bulk action (the ``doc``/``upsert`` of an update)."""
    if action.source is None or action.op == "delete":
        return action, []
    if action.op != "update":
        source, fields = nest_chunks(action.source, clean)
        return (action if source is action.source else BulkAction(action.op, action.index, action.id, source)), fields
    body = dict(action.source)
    fields = []
    for key in ("doc", "upsert"):
        part = body.get(key)
        if isinstance(part, dict):
            body[key], found = nest_chunks(part, clean)
            fields.extend(found)
    return BulkAction(action.op, action.index, action.id, body), fields


def chunks_mapping(embeddings: dict[str, Any]) -> dict[str, Any]:
    """The nested mapping of a ``<out>_chunks`` field whose embeddings map as ``embeddings``."""
    return {"type": "nested", "properties": {
        "text": {"type": "text"},
        "start_offset": {"type": "integer"},
        "end_offset": {"type": "integer"},
        "embeddings": embeddings,
    }}


def map_chunk_fields(sink: VectorMapper, index: str, fields: list[ChunkField], properties: dict[str, Any]
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The mappings to add for ``fields`` (given the index's current ``properties``) and, per field, why it
    cannot be stored when an existing mapping conflicts.

    The embeddings copy ``<out>``'s mapping when it stores the same vectors, so chunks and the top-level
    vector share dims, similarity and index options.
    """
    add: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    for field in fields:
        hint = field.hint()
        existing = find_field(properties, field.path)
        if existing is not None:
            embeddings = (existing.get("properties") or {}).get("embeddings")
            if existing.get("type") != "nested" or not isinstance(embeddings, dict) or not sink.same_field(embeddings, hint):
                problems[field.path] = (f"mapper [{field.path}] of index [{index}] is already mapped as {existing}, "
                                        f"which cannot hold the {field.kind} chunks of [{field.output}]")
            continue
        top = find_field(properties, field.output)
        vector = dict(top) if top is not None and sink.same_field(top, hint) else sink.field_mapping(hint)
        add[field.path] = chunks_mapping(vector)
    return add, problems
