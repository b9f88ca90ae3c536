"""``PUT /{index}`` for the sinks that are not the embedded store's index APIs (a cluster ``--dest``): the index
created with its vector mappings and settings (``index.default_pipeline`` kept here, the rest forwarded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.indices.names import validate_index_name
from ingest.indices.settings import flatten_keys
from ingest.jobs.indexmeta import IndexMeta
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks.base import ClusterRequests, FieldHint, Sink


def create_index(name: str, body: dict[str, Any], sink: Sink, cluster: ClusterRequests | None = None,
                 index_meta: Callable[[], IndexMeta] = IndexMeta) -> dict[str, Any]:
    """``PUT /{index}``: settings (``index.default_pipeline``) and vector mappings. ``cluster``: the sink's REST
    API when its kind is a cluster (``ingest.sinks.registry.cluster_requests``); ``index_meta`` opens the index
    metadata (the app context's)."""
    validate_index_name(name)
    meta = index_meta()
    try:
        if meta.exists(name):
            raise ElasticsearchError(f"index [{name}/_na_] already exists", status=400,
                                     error_type="resource_already_exists_exception",
                                     extra={"index_uuid": "_na_", "index": name})
        unknown = sorted(set(body) - {"settings", "mappings", "aliases"})
        if unknown:
            raise IllegalArgumentException(f"unknown key [{unknown[0]}] for create index")
        settings = flatten_keys({"index": {}, **(body.get("settings") or {})})
        settings = {k if k.startswith("index.") else f"index.{k}": v for k, v in settings.items()}
        hints = _hints_from_mappings(body.get("mappings") or {})
        if cluster is not None:
            # A cluster gets the whole request (its shards, analysis, mappings) but the default pipeline, which
            # runs here; its answer (e.g. the index already exists there) is the client's answer.
            # The sink's own settings for new indices (OpenSearch: index.knn) unless the request sets them.
            extra = {k: v for k, v in flatten_keys(cluster.index_settings()).items() if k not in settings}
            forwarded = _without_default_pipeline(body)
            cluster.request("PUT", f"/{name}",
                            body={**forwarded, "settings": {**(forwarded.get("settings") or {}), **extra}})
        sink.ensure_index(name, hints)
        meta.put_settings(name, settings)
        meta.record_fields(name, {p: {"kind": h.kind, "dims": h.dims, "endpoint": None} for p, h in hints.items()})
    finally:
        meta.close()
    return {"acknowledged": True, "shards_acknowledged": True, "index": name}


def _without_default_pipeline(body: dict[str, Any]) -> dict[str, Any]:
    """The create-index body without ``index.default_pipeline`` in any of its spellings."""
    settings = dict(body.get("settings") or {})
    for key in ("default_pipeline", "index.default_pipeline"):
        settings.pop(key, None)
    if isinstance(settings.get("index"), dict):
        settings["index"] = {k: v for k, v in settings["index"].items() if k != "default_pipeline"}
    return {**body, "settings": settings} if "settings" in body else body


def _hints_from_mappings(mappings: dict[str, Any], prefix: str = "") -> dict[str, FieldHint]:
    hints: dict[str, FieldHint] = {}
    for name, spec in (mappings.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        if kind in ("dense_vector", "knn_vector"):
            dims = spec.get("dims", spec.get("dimension"))
            hints[prefix + name] = FieldHint("dense", int(dims) if dims else None, spec.get("similarity", "cosine"))
        elif kind in ("sparse_vector", "rank_features"):
            hints[prefix + name] = FieldHint("sparse")
        elif "properties" in spec:
            hints.update(_hints_from_mappings(spec, prefix + name + "."))
    return hints
