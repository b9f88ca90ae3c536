"""The ``nested`` query (``path``, ``query``, ``score_mode``, ``inner_hits``, ``ignore_unmapped``).

Each object under ``path`` is searched as its own document, as Elasticsearch's nested documents are: the inner
query sees ``{path: object}`` and its BM25 statistics are the nested objects' (a corpus of them, built once per
corpus). A parent matches when one of its objects does; its score is their ``avg`` (default), ``max``, ``min``,
``sum`` or 0 (``none``). A ``knn`` inside keeps its ``k`` best parents (each by its best object).

A ``semantic_text`` field's chunks are nested objects too: ``path: "<field>.inference.chunks"`` searches every
chunk as ``{<field>: {inference: {chunks: {text, embeddings, offset}}}}``, so ``knn`` / ``sparse_vector`` on
``<field>.inference.chunks.embeddings`` score chunks (Elasticsearch 8.15's documented recipe), and inner hits
show the chunks' text. The embedded store has no ``nested`` mapping type: any array of objects can be a path."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import ParseContext, Query, parsing_error, values_at
from ingest.query.source import SourceFilter, from_body
from ingest.searching.corpus import Corpus
from ingest.searching.queries import Evaluate, Knn
from ingest.searching.scoring import evaluate as evaluate_query
from ingest.semantic.query import chunk_text

_MODES = ("avg", "max", "min", "sum", "none")
_CHUNKS = ".inference.chunks"


@dataclass
class Children(Corpus):
    """The nested objects of a corpus under one path, with their parent ordinal and offset."""

    parents: list[int] = dataclasses.field(default_factory=list)
    offsets: list[int] = dataclasses.field(default_factory=list)


def _wrap(path: str, value: Any) -> dict[str, Any]:
    for part in reversed(path.split(".")):
        value = {part: value}
    result: dict[str, Any] = value
    return result


def children(corpus: Corpus, path: str) -> Children:
    """The nested objects at ``path`` (a ``semantic_text`` field's chunks at ``<field>.inference.chunks``)."""
    cache = corpus.__dict__.setdefault("_vector_cache", {})
    key = "\0nested:" + path
    if key not in cache:
        out = Children(corpus.index, [], [], corpus.fingerprint, {})
        for n, source in enumerate(corpus.sources):
            for offset, obj in enumerate(_objects(source, path, out)):
                out.ids.append(corpus.ids[n])
                out.sources.append(_wrap(path, obj))
                out.parents.append(n)
                out.offsets.append(offset)
        cache[key] = out
    found: Children = cache[key]
    return found


def _objects(source: dict[str, Any], path: str, out: Children) -> list[dict[str, Any]]:
    field = path[: -len(_CHUNKS)] if path.endswith(_CHUNKS) else None
    entry = (source.get("_inference_fields") or {}).get(field) if field else None
    inference = entry.get("inference") if isinstance(entry, dict) else None
    if isinstance(inference, dict):
        similarity = (inference.get("model_settings") or {}).get("similarity")
        if similarity:
            out.hints[path + ".embeddings"] = similarity
        return [{"text": chunk_text(source, str(field), int(c["start_offset"]), int(c["end_offset"])),
                 "embeddings": c.get("embeddings"), "offset": {"start_offset": c["start_offset"],
                                                               "end_offset": c["end_offset"]}}
                for c in (inference.get("chunks") or {}).get(field) or []]
    return [v for v in values_at(source, path) if isinstance(v, dict)]


@dataclass(frozen=True)
class Nested:
    """``nested``: ``query`` on the objects under ``path``, their scores combined per parent."""

    path: str
    query: Query
    score_mode: str = "avg"
    inner_hits: dict[str, Any] | None = None
    boost: float = 1.0

    def matches(self, doc_id: str, source: dict[str, Any]) -> bool:
        found = Children("", [], [], (), {})
        return any(self.query.matches(doc_id, _wrap(self.path, o)) for o in _objects(source, self.path, found))

    def child_scores(self, corpus: Corpus) -> tuple[Children, dict[int, float]]:
        """The nested corpus and the scores of its matching objects."""
        kids = children(corpus, self.path)
        inner = self.query
        if isinstance(inner, Knn):  # k counts parents: score every object, cut after combining
            inner = dataclasses.replace(inner, k=max(len(kids), 1))
        return kids, evaluate_query(inner, kids)

    def score(self, corpus: Corpus, evaluate: Evaluate) -> dict[int, float]:
        kids, scores = self.child_scores(corpus)
        per: dict[int, list[float]] = {}
        for child, s in scores.items():
            per.setdefault(kids.parents[child], []).append(s)
        out = {parent: self.boost * _combine(values, self.score_mode) for parent, values in per.items()}
        if isinstance(self.query, Knn):
            best = sorted(out, key=lambda p: (-max(per[p]), p))[: self.query.k]
            out = {p: out[p] for p in best}
        return out


def _combine(values: list[float], mode: str) -> float:
    if mode == "none":
        return 0.0
    if mode == "max":
        return max(values)
    if mode == "min":
        return min(values)
    if mode == "sum":
        return sum(values)
    return sum(values) / len(values)


def parse_nested(spec: dict[str, Any], context: ParseContext) -> Query:
    """The ``nested`` query's parser (``register_query``)."""
    unknown = sorted(set(spec) - {"path", "query", "score_mode", "inner_hits", "ignore_unmapped", "boost", "_name"})
    if unknown:
        raise parsing_error(f"[nested] query does not support [{unknown[0]}]")
    if not isinstance(spec.get("path"), str):
        raise parsing_error("[nested] requires 'path' field")
    if "query" not in spec:
        raise parsing_error("[nested] requires 'query' field")
    mode = str(spec.get("score_mode", "avg"))
    if mode not in _MODES:
        raise ElasticsearchError(f"No score mode for child query [{mode}] found", status=400,
                                 error_type="illegal_argument_exception")
    inner_hits = spec.get("inner_hits")
    if inner_hits is not None and not isinstance(inner_hits, dict):
        raise parsing_error("[nested] [inner_hits] must be an object")
    return Nested(spec["path"], context.parse(spec["query"]), mode, inner_hits, float(spec.get("boost", 1.0)))


def nested_nodes(query: Query | None) -> list[Nested]:
    """The ``nested`` queries with ``inner_hits`` in a query tree (through ``bool``)."""
    if query is None:
        return []
    if isinstance(query, Nested):
        return [query] if query.inner_hits is not None else []
    return [n for part in ("must", "filter", "should") for clause in getattr(query, part, ())
            for n in nested_nodes(clause)]


def inner_hits(node: Nested, corpus: Corpus, ordinal: int, cache: dict[Any, Any],
               highlighter: Any = None) -> tuple[str, dict[str, Any]]:
    """One hit's ``inner_hits`` entry for a ``nested`` query: its name and ``{"hits": ...}``. ``cache`` keeps
    the nested scores of one page's corpus; ``highlighter(spec, query, source)`` highlights inner hits."""
    options = node.inner_hits or {}
    key = (id(node), id(corpus))
    if key not in cache:
        cache[key] = node.child_scores(corpus)
    kids, scores = cache[key]
    mine = sorted(((s, c) for c, s in scores.items() if kids.parents[c] == ordinal),
                  key=lambda sc: (-sc[0], kids.offsets[sc[1]]))
    start, size = int(options.get("from", 0)), int(options.get("size", 3))
    source_filter = from_body(options.get("_source"), SourceFilter())
    hits = []
    for s, c in mine[start:start + size]:
        obj = kids.sources[c]
        for part in node.path.split("."):
            obj = obj[part]
        item: dict[str, Any] = {"_index": corpus.index, "_id": corpus.ids[ordinal],
                                "_nested": {"field": node.path, "offset": kids.offsets[c]}, "_score": s}
        shown = source_filter.apply(obj)
        if shown is not None:
            item["_source"] = shown
        if highlighter is not None and options.get("highlight"):
            marked = highlighter(options["highlight"], node.query, kids.sources[c])
            if marked:
                item["highlight"] = marked
        hits.append(item)
    name = str(options.get("name", node.path))
    return name, {"hits": {"total": {"value": len(mine), "relation": "eq"},
                           "max_score": mine[0][0] if mine else None, "hits": hits}}
