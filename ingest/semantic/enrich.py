"""Inference at index time for ``semantic_text`` fields: what the embedded store runs on each write request.

For every ``index``/``create`` action (and an ``update``'s ``doc``/``upsert``) of an index mapping such fields,
the field's text is chunked by the endpoint's ``chunking_settings`` (``processors.chunking``, as the inference
processor does) and embedded in ONE call per endpoint for the whole request; the results go to
``_inference_fields.<field>`` in Elasticsearch 9's layout (``inference_id``, ``model_settings``, ``chunks``
keyed by the source field with ``start_offset``/``end_offset``/``embeddings``). Embeddings are reused, not
recomputed, when the text is unchanged: those of the stored document with the same id (and, in a job with
``--skip-unchanged``, every text the home's embedding cache holds: the API it is given is the cached one). A failed call is retried document by document
so that only the documents the endpoint rejects fail, each with Elasticsearch's ``inference_exception``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.models.errors import ElasticsearchError
from ingest.processors.chunking import chunk_by_settings
from ingest.processors.protocols import INGEST_INFERENCE_TIMEOUT_S, InferenceClient
from ingest.semantic.fields import INFERENCE_FIELDS, SemanticField, record_model_settings, semantic_fields
from ingest.sinks.base import BulkAction, ItemResult

StoredLookup = Callable[[set[str]], dict[str, dict[str, Any]]]


@dataclass
class _Input:
    """One field of one document body to embed: its values and their chunks."""

    slot: int  # which body (``_Body``) it belongs to
    field: SemanticField
    values: list[str]
    spans: list[tuple[int, int, int]]  # (value index, start, end) inside that value


@dataclass
class _Body:
    """A document body of the request that needs ``_inference_fields`` (an action's source, or an update's
    ``doc`` or ``upsert`` part)."""

    pos: int
    key: str | None  # None: the action's source; "doc"/"upsert": that part of an update body
    body: dict[str, Any]


def _get(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = body
    if path in body:
        return True, body[path]
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _values(field: SemanticField, value: Any) -> list[str]:
    """The field's text values (Elasticsearch accepts strings, numbers and booleans, or a list of them)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise ElasticsearchError(
                f"[semantic_text] field [{field.path}] expects a string, a number, a boolean or a list of them, "
                f"got an object", status=400, error_type="document_parsing_exception")
    return out


def _offsets(values: list[str]) -> list[int]:
    """Where each value starts in the values joined by one separator character (Elasticsearch's offsets of a
    multi-valued field)."""
    starts, pos = [], 0
    for value in values:
        starts.append(pos)
        pos += len(value) + 1
    return starts


class SemanticInference:
    """Fills ``_inference_fields`` for the ``semantic_text`` fields of a write request; ``api`` is called on
    first need (opening a store must not load models)."""

    def __init__(self, api: Callable[[], InferenceClient]) -> None:
        self._api = api

    def record_model_settings(self, properties: dict[str, Any], actions: list[BulkAction]) -> bool:
        """The ``model_settings`` of the fields the enriched ``actions`` embedded first, put on ``properties``
        (``fields.record_model_settings``); whether ``properties`` changed."""
        entries = [found for a in actions
                   if a.source is not None and isinstance(found := a.source.get(INFERENCE_FIELDS), dict)]
        return record_model_settings(properties, entries) if entries else False

    def enrich(self, properties: Mapping[str, Any], actions: list[BulkAction], stored: StoredLookup
               ) -> list[BulkAction | ItemResult]:
        """One outcome per action of one index: the action with ``_inference_fields`` filled in, or the
        item's failure."""
        fields = list(semantic_fields(properties))
        out: list[BulkAction | ItemResult] = list(actions)
        if not fields:
            return out
        failed: dict[int, ElasticsearchError] = _scripts_on_semantic_fields(actions, fields)
        bodies = [b for b in self._bodies(actions) if b.pos not in failed]
        inputs: list[_Input] = []
        for slot, b in enumerate(bodies):
            try:
                inputs += self._inputs(slot, b, fields)
            except ElasticsearchError as exc:
                failed[b.pos] = exc
        inputs = [i for i in inputs if bodies[i.slot].pos not in failed]
        todo = self._reuse(bodies, inputs, actions, stored)
        self._embed(bodies, todo, failed)
        for b in bodies:
            if b.pos in failed:
                continue
            action = actions[b.pos]
            if b.key is None:
                out[b.pos] = dataclasses.replace(action, source=b.body)
            else:
                out[b.pos] = dataclasses.replace(action, source={**(action.source or {}), b.key: b.body})
        for pos, error in failed.items():
            out[pos] = ItemResult(error.status, error.cause_dict(), id=actions[pos].id)
        return out

    @staticmethod
    def _bodies(actions: list[BulkAction]) -> list[_Body]:
        bodies = []
        for pos, a in enumerate(actions):
            if a.source is None:
                continue
            if a.op in ("index", "create"):
                bodies.append(_Body(pos, None, copy.copy(a.source)))
            elif a.op == "update":
                for key in ("doc", "upsert"):
                    if isinstance(part := a.source.get(key), dict):
                        bodies.append(_Body(pos, key, copy.copy(part)))
        return bodies

    def _inputs(self, slot: int, b: _Body, fields: list[SemanticField]) -> list[_Input]:
        given = b.body.get(INFERENCE_FIELDS)
        given = dict(given) if isinstance(given, Mapping) else {}
        out = []
        for field in fields:
            present, value = _get(b.body, field.path)
            if not present:
                if b.key is None:
                    given.pop(field.path, None)  # a whole document without the field has no chunks for it
                continue
            values = _values(field, value)
            if not values:
                if b.key is None:
                    given.pop(field.path, None)
                else:
                    given[field.path] = None  # an update's null clears the stored chunks (merged as null)
                continue
            out.append(_Input(slot, field, values, []))
        if given or INFERENCE_FIELDS in b.body:
            b.body[INFERENCE_FIELDS] = given
        return out

    def _reuse(self, bodies: list[_Body], inputs: list[_Input], actions: list[BulkAction],
               stored: StoredLookup) -> list[_Input]:
        """Keep the stored chunks of unchanged text (the stored document with the same id); the rest to embed.
        Chunks a document carries are never trusted: their text is not stored with them, so whether they still
        match the field cannot be told (the job's embedding cache makes a copy cheap instead)."""
        ids = {actions[bodies[i.slot].pos].id for i in inputs}
        ids.discard(None)
        old = stored({i for i in ids if i is not None}) if ids else {}
        todo = []
        for item in inputs:
            b = bodies[item.slot]
            doc_id = actions[b.pos].id
            prev = old.get(doc_id) if doc_id is not None else None
            if prev is not None:
                present, value = _get(prev, item.field.path)
                entry = (prev.get(INFERENCE_FIELDS) or {}).get(item.field.path)
                if present and _same(value, item) and _valid(entry, item):
                    b.body.setdefault(INFERENCE_FIELDS, {})[item.field.path] = entry
                    continue
            todo.append(item)
        return todo

    def _embed(self, bodies: list[_Body], todo: list[_Input], failed: dict[int, ElasticsearchError]) -> None:
        by_endpoint: dict[str, list[_Input]] = {}
        for item in todo:
            by_endpoint.setdefault(item.field.inference_id, []).append(item)
        for inference_id, items in by_endpoint.items():
            api = self._api()
            try:
                settings = items[0].field.chunking_settings or api.endpoint(inference_id).chunking_settings
            except ElasticsearchError as exc:
                for item in items:
                    failed[bodies[item.slot].pos] = _failure(item, exc)
                continue
            for item in items:
                item.spans = [(k, s, e) for k, v in enumerate(item.values)
                              for s, e in chunk_by_settings(v, dict(settings) if settings else None)]
            try:
                self._call(api, inference_id, bodies, items)
            except Exception:  # isolate the documents the endpoint rejects
                per_body: dict[int, list[_Input]] = {}
                for item in items:
                    per_body.setdefault(item.slot, []).append(item)
                for group in per_body.values():
                    try:
                        self._call(api, inference_id, bodies, group)
                    except Exception as exc:
                        failed[bodies[group[0].slot].pos] = _failure(group[0], exc)

    @staticmethod
    def _call(api: InferenceClient, inference_id: str, bodies: list[_Body], items: list[_Input]) -> None:
        texts = [item.values[k][s:e] for item in items for k, s, e in item.spans]
        results = api.infer(inference_id, texts, input_type="ingest", timeout_s=INGEST_INFERENCE_TIMEOUT_S)
        embeddings = getattr(results, "embeddings", None)
        if isinstance(embeddings, np.ndarray):
            vectors: list[Any] = [row.astype(np.float32).tolist() for row in embeddings]
            settings: dict[str, Any] = {"task_type": "text_embedding", "dimensions": int(embeddings.shape[1]),
                                        "similarity": _similarity(api, inference_id), "element_type": "float"}
        elif isinstance(embeddings, list):
            vectors = [{str(k): float(v) for k, v in dict(e).items()} for e in embeddings]
            settings = {"task_type": "sparse_embedding"}
        else:
            raise ElasticsearchError(f"inference endpoint [{inference_id}] returns "
                                     f"[{getattr(results, 'task_type', '?')}] results, which semantic_text "
                                     "cannot store", status=400, error_type="illegal_argument_exception")
        for item in items:
            _check_model_settings(item.field, settings)
        pos = 0
        for item in items:
            starts = _offsets(item.values)
            chunks = []
            for k, s, e in item.spans:
                chunks.append({"start_offset": starts[k] + s, "end_offset": starts[k] + e,
                               "embeddings": vectors[pos]})
                pos += 1
            entry = {"inference": {"inference_id": inference_id, "model_settings": settings,
                                   "chunks": {item.field.path: chunks}}}
            bodies[item.slot].body.setdefault(INFERENCE_FIELDS, {})[item.field.path] = entry


def _scripts_on_semantic_fields(actions: list[BulkAction], fields: list[SemanticField]
                                ) -> dict[int, ElasticsearchError]:
    """Scripted updates whose script names a ``semantic_text`` field, refused per item: the script runs inside the
    store's transaction, after inference, so a text it changed would keep its old chunks (silently wrong
    search results). Scripts that do not name such a field run as usual."""
    out = {}
    for pos, a in enumerate(actions):
        script = a.source.get("script") if a.op == "update" and a.source is not None else None
        if script is None:
            continue
        text = json.dumps(script)
        named = [f.path for f in fields if re.search(rf"\b{re.escape(f.path.rsplit('.', 1)[-1])}\b", text)]
        if named:
            out[pos] = ElasticsearchError(
                f"scripted updates of [semantic_text] field [{named[0]}] are not supported: send the new text "
                "in the update's [doc] (it is embedded then)", status=400, error_type="illegal_argument_exception")
    return out


def _check_model_settings(field: SemanticField, settings: Mapping[str, Any]) -> None:
    """Refuse results that do not fit what the field recorded from its first document (an endpoint replaced by
    one of another task or size would mix incomparable embeddings)."""
    known = field.model_settings
    if known is None:
        return
    for key in ("task_type", "dimensions"):
        if key in known and known.get(key) != settings.get(key):
            raise ElasticsearchError(
                f"Incompatible model settings for field [{field.path}]: the mapping has [{key}: {known.get(key)}], "
                f"inference endpoint [{field.inference_id}] now returns [{key}: {settings.get(key)}]", status=400,
                error_type="illegal_argument_exception")


def _similarity(api: InferenceClient, inference_id: str) -> str:
    settings = getattr(api.endpoint(inference_id), "service_settings", None)
    value = settings.get("similarity") if isinstance(settings, Mapping) else None
    return str(value).lower() if value else "cosine"


def _same(value: Any, item: _Input) -> bool:
    try:
        return _values(item.field, value) == item.values
    except ElasticsearchError:
        return False


def _valid(entry: Any, item: _Input) -> bool:
    """Whether ``entry`` holds chunks of ``item``'s endpoint that fit its text (then they can be reused)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("inference"), Mapping):
        return False
    inference = entry["inference"]
    chunks = (inference.get("chunks") or {}).get(item.field.path) if isinstance(inference.get("chunks"), Mapping) else None
    if inference.get("inference_id") != item.field.inference_id or not isinstance(chunks, list) or not chunks:
        return False
    total = sum(len(v) for v in item.values) + len(item.values) - 1
    return all(isinstance(c, Mapping) and isinstance(c.get("end_offset"), int) and c["end_offset"] <= total
               and "embeddings" in c for c in chunks)


def _failure(item: _Input, exc: BaseException) -> ElasticsearchError:
    """Elasticsearch's item failure when inference fails: ``inference_exception`` with the status and the
    error of its cause."""
    cause = exc if isinstance(exc, ElasticsearchError) else ElasticsearchError(str(exc), status=500)
    return ElasticsearchError(
        f"Exception when running inference id [{item.field.inference_id}] on field [{item.field.path}]",
        status=cause.status, error_type="inference_exception", caused_by=cause)
