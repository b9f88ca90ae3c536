"""A search as the server and ``ingest search`` both run it: an index expression resolved (aliases,
wildcards), query vectors from the context's inference endpoints, the indices' corpora searched."""

from __future__ import annotations

import json
from typing import Any, Protocol

from ingest.indices.catalog import IndexCatalog
from ingest.indices.expressions import Options, resolve
from ingest.query.source import SourceFilter
from ingest.searching.mapped import apply_mappings
from ingest.searching.nested import parse_nested
from ingest.searching.pruning import parse_sparse_vector, parse_text_expansion
from ingest.searching.queries import register_query
from ingest.searching.request import check
from ingest.searching.semantic import parse_semantic, resolve_semantic
from ingest.searching.service import SearchableStore, SearchService, resolve_inference
from ingest.searching.terms import parse_term

register_query("semantic", parse_semantic)  # semantic_text fields (ingest.semantic)
register_query("term", parse_term)  # BM25 of one term, as Elasticsearch scores it
register_query("sparse_vector", parse_sparse_vector)  # prune, pruning_config
register_query("text_expansion", parse_text_expansion)
register_query("nested", parse_nested)  # nested objects, semantic_text chunks


class SearchContext(Protocol):
    """What a search needs of the application context (``ingest.context.SearchContext`` has it)."""

    @property
    def api(self) -> Any:
        """The inference API (query vectors, ``semantic`` queries)."""
        ...

    def index_catalog(self) -> IndexCatalog:
        """The indices' aliases (the caller closes it)."""
        ...

    def search(self) -> SearchService:
        """The application's search service (cached corpora, scrolls, points in time)."""
        ...


class IndexedStore(SearchableStore, Protocol):
    """A searchable store that lists its indices."""

    def indices(self) -> list[str]:
        """Index names."""
        ...


def resolve_names(context: SearchContext, store: IndexedStore, expression: str | None,
                  options: Options = Options()) -> list[str]:
    """The concrete indices of an expression (names, wildcards, aliases), as Elasticsearch resolves them."""
    catalog = context.index_catalog()
    try:
        aliases = catalog.aliases()
    finally:
        catalog.close()
    return resolve(expression, store.indices(), aliases, options)


def needs_inference(body: Any) -> bool:
    """Whether a body names an inference endpoint (``query_vector_builder``, ``inference_id``, ``model_id``)."""
    text = json.dumps(body)
    return any(k in text for k in ('"query_vector_builder"', '"inference_id"', '"model_id"'))


def prepare(context: SearchContext, body: dict[str, Any]) -> dict[str, Any]:
    """The body with its query vectors computed, checked (``parsing_exception`` before anything runs)."""
    ready: dict[str, Any] = resolve_inference(body, context.api if needs_inference(body) else None)
    check(ready)
    return ready


def search(context: SearchContext, store: IndexedStore, names: list[str], body: dict[str, Any],
           default_source: SourceFilter = SourceFilter(), scroll: str | None = None) -> dict[str, Any]:
    """The ``_search`` response of ``body`` (already ``prepare``d) over the named indices."""
    service = context.search()
    corpora = [service.corpus(store, n) for n in names]
    props = {n: store.properties(n) for n in names}
    body = complete(context, body, props)
    return service.search(body, corpora, props, default_source, scroll=scroll, api=context.api)


def complete(context: SearchContext, body: dict[str, Any], props: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A ``prepare``d body finished with what the target indices' mappings say: ``semantic`` queries embedded by
    their field's endpoint, ``nested`` paths checked, ``sparse_vector`` pruning from the field's options (every
    search over indices: ``_search``, a point in time, ``_count``)."""
    text = json.dumps(body)
    if '"semantic"' in text:
        body = resolve_semantic(body, props, context.api)
    if '"nested"' in text or '"sparse_vector"' in text:
        body = apply_mappings(body, props)
    return body

