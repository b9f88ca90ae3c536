"""One ``_search`` request on corpora (one per index): the query, top-level ``knn`` (summed with the query's
scores, as Elasticsearch combines them), ``retriever`` (``standard``, ``knn``, ``rrf``; ``linear`` and ``text_similarity_reranker`` in ``retrievers``), ``sort`` /
``search_after``, ``from``/``size``, ``_source``, ``fields`` and ``track_total_hits``, answered in
Elasticsearch's response format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.query.dsl import ParseContext, Query, parse_query, parsing_error, text_fields
from ingest.query.source import SourceFilter, from_body
from ingest.searching.corpus import Corpus
from ingest.searching.highlight import highlight
from ingest.searching.highlight_spec import check_spec
from ingest.searching.nested import inner_hits, nested_nodes
from ingest.searching.queries import QUERY_TYPES, knn_from
from ingest.searching.retrievers import Reranker, linear, rerank
from ingest.searching.scoring import evaluate
from ingest.searching.sorting import SortKey, field_values, order_key, parse_sort, sort_value
from ingest.semantic.fields import INFERENCE_FIELDS
from ingest.semantic.query import chunk_text

_KNOWN = {"query", "knn", "retriever", "from", "size", "sort", "_source", "fields", "track_total_hits",
          "search_after", "pit", "min_score", "track_scores", "timeout", "stored_fields", "docvalue_fields",
          "explain", "version", "seq_no_primary_term", "profile", "terminate_after", "highlight"}
Infer = Callable[[str, str], Any]


@dataclass
class Hit:
    """A matching document: its corpus, ordinal and score, and (once sorted) its sort values."""

    corpus: Corpus
    ordinal: int
    score: float
    sort: list[Any] = field(default_factory=list)


def parse(body: dict[str, Any], corpus: Corpus | None = None, properties: dict[str, Any] | None = None) -> Query:
    """The ``query`` of a body (``match_all`` when absent) with the search engine's query types."""
    return parse_query(body.get("query", {"match_all": {}}), text_fields(properties or {}), QUERY_TYPES)


def _context(properties: dict[str, Any]) -> ParseContext:
    text = text_fields(properties)
    return ParseContext(text, lambda q: parse_query(q, text, QUERY_TYPES))


def check(body: dict[str, Any]) -> None:
    """Refuse what the embedded search does not do, in Elasticsearch's words, before anything runs."""
    for key in body:
        if key in ("aggs", "aggregations", "suggest", "rescore", "collapse", "script_fields"):
            raise parsing_error(f"[{key}] is not supported by the embedded store's search")
        if key not in _KNOWN:
            raise parsing_error(f"Unknown key for a START_OBJECT in [{key}].")
    parse(body)  # the query's syntax, once, whatever the indices
    if "highlight" in body:
        check_spec(body["highlight"])
    if "knn" in body:
        for spec in body["knn"] if isinstance(body["knn"], list) else [body["knn"]]:
            if not isinstance(spec, dict):
                raise parsing_error("[knn] malformed")
            knn_from(spec, _context({}))


def _ranked(scores: list[Hit]) -> list[Hit]:
    return sorted(scores, key=lambda h: (-h.score, h.corpus.index, h.ordinal))


def _query_hits(body: dict[str, Any], corpora: list[Corpus], props: dict[str, dict[str, Any]]) -> list[Hit]:
    """The hits of ``query`` + top-level ``knn`` (a document's scores summed)."""
    knn = body.get("knn")
    specs = (knn if isinstance(knn, list) else [knn]) if knn else []
    size = int(body.get("size", 10))
    merged: dict[tuple[int, int], float] = {}
    if "query" in body or not specs:
        for c, corpus in enumerate(corpora):
            query = parse_query(body.get("query", {"match_all": {}}), text_fields(props[corpus.index]), QUERY_TYPES)
            for d, s in evaluate(query, corpus).items():
                merged[(c, d)] = s
    for spec in specs:
        found: list[Hit] = []
        k = int(spec.get("k", size))
        for corpus in corpora:
            node = knn_from(spec, _context(props[corpus.index]), default_k=k)
            found += [Hit(corpus, d, s) for d, s in evaluate(node, corpus).items()]
        for hit in _ranked(found)[:k]:  # k over all indices, as Elasticsearch's global top k
            key = (corpora.index(hit.corpus), hit.ordinal)
            merged[key] = merged.get(key, 0.0) + hit.score
    return [Hit(corpora[c], d, s) for (c, d), s in merged.items()]


def _retriever(spec: Any, corpora: list[Corpus], props: dict[str, dict[str, Any]], size: int,
               api: Reranker | None = None) -> list[Hit]:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise parsing_error("[retriever] malformed, expected one retriever")
    kind, options = next(iter(spec.items()))
    if kind == "standard":
        body = {"query": options.get("query", {"match_all": {}})}
        if "filter" in options:
            body["query"] = {"bool": {"must": [body["query"]], "filter": options["filter"]}}
        return _ranked(_query_hits(body, corpora, props))
    if kind == "knn":
        return _ranked(_query_hits({"knn": options, "size": size}, corpora, props))
    if kind == "rrf":
        constant = int(options.get("rank_constant", 60))
        window = int(options.get("rank_window_size", max(size, 10)))
        if constant < 1:
            raise parsing_error("[rank_constant] must be greater or equal to [1] for [rrf]")
        fused: dict[tuple[str, int], Hit] = {}
        for child in options.get("retrievers", []):
            for rank, hit in enumerate(_retriever(child, corpora, props, size, api)[:window], start=1):
                key = (hit.corpus.index, hit.ordinal)
                if key not in fused:
                    fused[key] = Hit(hit.corpus, hit.ordinal, 0.0)
                fused[key].score += 1.0 / (constant + rank)
        return _ranked(list(fused.values()))[:window]

    def run(child: Any) -> list[Hit]:
        return _retriever(child, corpora, props, size, api)

    if kind == "linear":
        return linear(options, run, size)
    if kind == "text_similarity_reranker":
        return rerank(options, run, size, api)
    raise parsing_error(f"unknown retriever [{kind}]")


def total_of(count: int, track: Any) -> dict[str, Any] | None:
    """``hits.total`` for ``track_total_hits`` (default: exact up to 10,000)."""
    if track is False or track == "false":
        return None
    limit = None if track is True or track == "true" else int(track if track is not None else 10000)
    if limit is not None and count > limit:
        return {"value": limit, "relation": "gte"}
    return {"value": count, "relation": "eq"}


def execute(body: dict[str, Any], corpora: list[Corpus], props: dict[str, dict[str, Any]],
            pit_tiebreak: bool = False, api: Reranker | None = None) -> tuple[list[Hit], list[SortKey]]:
    """Every hit of a request, in its final order (before ``from``/``size``), and the sort keys used; ``api``
    serves the ``text_similarity_reranker``'s rerank endpoint."""
    size = int(body.get("size", 10))
    if "retriever" in body:
        if "query" in body or "knn" in body:
            raise parsing_error("cannot specify [retriever] and [query] or [knn]")
        hits = _retriever(body["retriever"], corpora, props, size, api)
    else:
        hits = _ranked(_query_hits(body, corpora, props))
    if body.get("min_score") is not None:
        hits = [h for h in hits if h.score >= float(body["min_score"])]
    keys = parse_sort(body.get("sort"))
    if pit_tiebreak and keys and all(k.field != "_shard_doc" for k in keys):
        keys.append(SortKey("_shard_doc", False))
    if keys:
        for h in hits:
            h.sort = [sort_value(k, h.corpus.sources[h.ordinal], h.score, _global(h, corpora)) for k in keys]
        hits.sort(key=lambda h: order_key(keys)(h.sort))
        after = body.get("search_after")
        if after is not None:
            if not isinstance(after, list) or len(after) != len(keys):
                raise parsing_error(f"search_after has {len(after) if isinstance(after, list) else 0} value(s) "
                                    f"but sort has {len(keys)}.")
            bound = order_key(keys)(after)
            hits = [h for h in hits if order_key(keys)(h.sort) > bound]
    elif body.get("search_after") is not None:
        raise parsing_error("Cannot use [search_after] without a [sort]")
    return hits, keys


def _global(hit: Hit, corpora: list[Corpus]) -> int:
    """A document's position across the searched indices (``_doc`` / ``_shard_doc``)."""
    offset = 0
    for corpus in corpora:
        if corpus is hit.corpus:
            return offset + hit.ordinal
        offset += len(corpus)
    return offset + hit.ordinal


def _parse_any(query: Any) -> Query:
    return parse_query(query, frozenset(), QUERY_TYPES)


def _retriever_queries(spec: Any) -> dict[str, Any] | None:
    """The queries of a retriever tree's ``standard`` retrievers as one ``bool`` (what ``highlight`` shows)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        for kind, options in node.items():
            if not isinstance(options, dict):
                continue
            if kind == "standard" and "query" in options:
                found.append(options["query"])
            for child in options.get("retrievers", []) if isinstance(options.get("retrievers"), list) else []:
                walk(child.get("retriever", child) if isinstance(child, dict) else None)
            walk(options.get("retriever"))

    walk(spec)
    return {"bool": {"should": found}} if found else None


def _fields(source: dict[str, Any], specs: list[Any], patterns: list[str]) -> dict[str, list[Any]]:
    """A hit's ``fields``: leaf values by pattern, never ``_inference_fields`` unless named (then whole, as
    Elasticsearch 9 shows a metadata field), and a ``semantic_text`` field's chunk texts for ``format: chunks``."""
    inference = source.get(INFERENCE_FIELDS)
    values = field_values({k: v for k, v in source.items() if k != INFERENCE_FIELDS}, patterns)
    if isinstance(inference, dict) and INFERENCE_FIELDS in patterns:
        values[INFERENCE_FIELDS] = [inference]
    for spec in specs:
        if isinstance(spec, dict) and spec.get("format") == "chunks" and isinstance(inference, dict):
            name = str(spec.get("field"))
            entry = (inference.get(name) or {}).get("inference") or {}
            chunks = (entry.get("chunks") or {}).get(name) or []
            if chunks:
                values[name] = [chunk_text(source, name, int(c["start_offset"]), int(c["end_offset"]))
                                for c in chunks]
    return values


def render(hits: list[Hit], keys: list[SortKey], body: dict[str, Any], start: int, size: int,
           default_source: SourceFilter, total: int | None = None) -> dict[str, Any]:
    """The ``hits`` section: ``total``, ``max_score`` and the page ``hits[start:start+size]``."""
    by_score = not keys or (keys[0].field == "_score")
    track_scores = by_score or any(k.field == "_score" for k in keys) or body.get("track_scores") is True
    source_filter = from_body(body.get("_source"), default_source)
    patterns = [f if isinstance(f, str) else str(f.get("field")) for f in body.get("fields", []) or []]
    spec = body.get("highlight")
    shown = body.get("query") or _retriever_queries(body.get("retriever"))
    wants_query = shown is not None and (spec or "inner_hits" in str(shown))
    query = _parse_any(shown) if wants_query else None
    nested = nested_nodes(query)
    scored: dict[Any, Any] = {}  # the nested scores of each corpus, computed once per page
    page = []
    for h in hits[start:start + size]:
        source = h.corpus.sources[h.ordinal]
        item: dict[str, Any] = {"_index": h.corpus.index, "_id": h.corpus.ids[h.ordinal],
                                "_score": h.score if track_scores else None}
        filtered = source_filter.apply(source)
        if filtered is not None:
            item["_source"] = filtered
        if patterns:
            values = _fields(source, body["fields"], patterns)
            if values:
                item["fields"] = values
        if keys:
            item["sort"] = h.sort
        if spec:
            semantic = frozenset((source.get("_inference_fields") or {}).keys())
            marked = highlight(spec, query, source, semantic, _parse_any)
            if marked:
                item["highlight"] = marked
        if nested:
            item["inner_hits"] = dict(inner_hits(n, h.corpus, h.ordinal, scored, highlight) for n in nested)
        page.append(item)
    out: dict[str, Any] = {}
    counted = total_of(len(hits) if total is None else total, body.get("track_total_hits"))
    if counted is not None:
        out["total"] = counted
    # size 0 collects no top hits, so Elasticsearch has no max score (NaN, shown as null)
    out["max_score"] = (max((h.score for h in hits), default=None)
                        if track_scores and by_score and size > 0 else None)
    out["hits"] = page
    return out
