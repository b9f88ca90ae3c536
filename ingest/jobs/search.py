"""``ingest search``: embed the query with the endpoint that filled a vector field, then k-NN or sparse dot
product on a sink that can search (registry: the embedded store, LanceDB). Enough to see that the vectors
work, not a search engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.jobs.indexmeta import IndexMeta
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.sinks.base import Searching
from ingest.sinks.registry import kind_of, open_sink, require, searching

_KIND_OF_TASK = {"text_embedding": "dense", "sparse_embedding": "sparse"}


def pick_field(index: str, fields: dict[str, dict[str, Any]], endpoint: str | None, field: str | None,
               endpoint_kind: str | None) -> str:
    """The vector field to search: the one named, the one the endpoint filled, or the only one there is."""
    if field is not None:
        if field not in fields:
            raise IllegalArgumentException(f"field [{field}] of index [{index}] is neither a vector field nor a "
                                           f"semantic_text field; vector fields: {sorted(fields)}")
        return field
    if not fields:
        raise ResourceNotFoundException(f"index [{index}] has no vector fields written by ingest and no single "
                                        "semantic_text field; name one with --field")
    candidates = sorted(fields)
    if endpoint is not None:
        filled = [f for f in candidates if fields[f].get("endpoint") == endpoint]
        candidates = filled or [f for f in candidates if fields[f].get("kind") == endpoint_kind]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise IllegalArgumentException(f"no vector field of index [{index}] matches endpoint [{endpoint}]; "
                                       f"vector fields: {sorted(fields)}")
    raise IllegalArgumentException(f"index [{index}] has several vector fields {candidates}; choose one with --field")


def search(index: str, text: str, *, endpoint: str | None = None, field: str | None = None, k: int = 10,
           api: Any = None, store: Searching | None = None, dest: str = "embedded",
           index_meta: Callable[[], IndexMeta] = IndexMeta) -> dict[str, Any]:
    """Elasticsearch-shaped hits for ``text`` on ``store``, else on the sink ``dest`` names (which must
    declare search in the registry); ``index_meta`` opens the index metadata (the app context's)."""
    if k < 1:
        raise IllegalArgumentException(f"[k] must be greater than 0, got [{k}]")
    kind = kind_of(dest)
    if store is None:
        require(kind, "search")  # before the query is embedded
    if api is None:
        from ingest.models.api import default_api

        api = default_api()
    meta = index_meta()
    fields = meta.fields(index)
    meta.close()
    endpoint_kind = None
    if endpoint is not None:
        endpoint_kind = _KIND_OF_TASK.get(str(api.endpoint(endpoint).task_type))
    chosen = pick_field(index, fields, endpoint, field, endpoint_kind)
    endpoint = endpoint or fields[chosen].get("endpoint")
    if not endpoint:
        raise IllegalArgumentException(f"no endpoint is recorded for field [{chosen}]; pass --endpoint")
    result = api.infer(endpoint, [text], input_type="search")
    query: Any = result.embeddings[0]
    query = query.tolist() if hasattr(query, "tolist") else dict(query)
    if store is not None:
        hits = store.search(index, chosen, query, k)
    else:
        with open_sink(dest) as sink:
            hits = searching(sink, kind).search(index, chosen, query, k)
    return {
        "field": chosen,
        "endpoint": endpoint,
        "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": [_hit(index, h) for h in hits]},
    }


def _hit(index: str, raw: dict[str, Any]) -> dict[str, Any]:
    if "_source" in raw:
        return {"_index": index, **raw}
    source = {k: v for k, v in raw.items() if k not in ("_id", "_score")}
    return {"_index": index, "_id": raw.get("_id"), "_score": raw.get("_score"), "_source": source}
