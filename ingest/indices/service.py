"""The index APIs over the embedded store: create (templates applied), get, delete, mappings, settings,
aliases, refresh and the ``_cat`` rows. The routes (``server/routes/indices.py``, ``aliases.py``, ``cat.py``)
are thin shells over these functions; ``_bulk`` auto-creation calls :func:`auto_create`."""

from __future__ import annotations

from typing import Any, Protocol

from ingest.indices import mappings as mp
from ingest.indices.catalog import Alias, IndexCatalog
from ingest.indices.expressions import Options, resolve
from ingest.indices.names import InvalidIndexName, validate_index_name
from ingest.indices.settings import INTERNAL, STATIC, check_counts, flat, nested
from ingest.indices.templates import TemplateSource, compose
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks.base import FieldHint, Sink
from ingest.sinks.registry import named

VERSION_CREATED = "9009000"  # reported as index.version.created (the Elasticsearch version we speak)
_CREATE_KEYS = {"settings", "mappings", "aliases"}


class IndexStore(Protocol):
    """What the index APIs need of a store (``sinks.embedded.store.EmbeddedStore``)."""

    def indices(self) -> list[str]: ...
    def index_exists(self, index: str) -> bool: ...
    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None: ...
    def delete_index(self, index: str) -> None: ...
    def hints(self, index: str) -> dict[str, FieldHint]: ...
    def properties(self, index: str) -> mp.Properties: ...
    def mapping_options(self, index: str) -> dict[str, Any]: ...
    def put_mapping(self, index: str, properties: mp.Properties, options: dict[str, Any]) -> None: ...
    def count(self, index: str) -> int: ...


def is_index_store(sink: Sink) -> bool:
    """Whether ``sink`` keeps its own indices (the embedded store), rather than forwarding to a cluster: its
    declared kind's ``index_store`` capability (a wrapper declares the kind of the sink it wraps)."""
    kind = named(sink.kind_name)
    return kind is not None and kind.capabilities.index_store


def already_exists(name: str, uuid: str = "_na_") -> ElasticsearchError:
    """``resource_already_exists_exception`` (naming the existing index's uuid, as Elasticsearch does)."""
    return ElasticsearchError(f"index [{name}/{uuid}] already exists", status=400,
                              error_type="resource_already_exists_exception",
                              extra={"index_uuid": uuid, "index": name})


def create(store: IndexStore, catalog: IndexCatalog, templates: TemplateSource | None, name: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /{index}``: settings, mappings and aliases, over the matching index template's."""
    validate_index_name(name)
    unknown = sorted(set(body) - _CREATE_KEYS)
    if unknown:
        raise IllegalArgumentException(f"unknown key [{unknown[0]}] for create index")
    if store.index_exists(name):
        raise already_exists(name, catalog.facts(name)[0])
    aliases = catalog.aliases()
    if any(a.name == name for a in aliases):
        raise InvalidIndexName(name, "already exists as alias")
    full = compose(templates, name, body) if templates is not None else body
    settings = flat(full.get("settings") or {})
    check_counts(settings)
    bad = sorted(k for k in settings if k in INTERNAL)
    if bad:
        raise IllegalArgumentException(f"unknown setting [{bad[0]}] please check that any required plugins are "
                                       "installed, or check the breaking changes documentation for removed "
                                       "settings")
    _populate(store, catalog, name, full, settings, aliases)
    return {"acknowledged": True, "shards_acknowledged": True, "index": name}


def _populate(store: IndexStore, catalog: IndexCatalog, name: str, full: dict[str, Any], settings: dict[str, Any],
              aliases: list[Alias]) -> None:
    """Make index ``name`` (or complete a table just made) with ``full``'s mappings, settings and aliases."""
    try:
        props, options, hints = mp.parse(full.get("mappings") or {})
        new_aliases = _alias_specs(full.get("aliases") or {}, name, aliases)
        store.ensure_index(name, hints)
        store.put_mapping(name, props, options)
        catalog.new_index(name)
        catalog.put_settings(name, {"index.number_of_shards": "1", "index.number_of_replicas": "1",
                                    **{k: v for k, v in settings.items() if v is not None}})
        catalog.apply_alias_changes(new_aliases, [])
    except Exception:
        if store.index_exists(name):
            store.delete_index(name)  # nothing half-made stays behind
        raise


def auto_create(store: IndexStore, catalog: IndexCatalog, templates: TemplateSource | None, name: str) -> None:
    """Create ``name`` as a write to it does (``_bulk``, ``_doc``), with its matching template. ``store`` may
    be the caller's authorised view (``security.bulkauth``): when that creates nothing, nothing more is done
    and the write fails with the caller's 403."""
    if store.index_exists(name):
        return
    store.ensure_index(name, {})
    if not store.index_exists(name):
        return
    full = compose(templates, name, {}) if templates is not None else {}
    _populate(store, catalog, name, full, flat(full.get("settings") or {}), catalog.aliases())


def _alias_specs(raw: Any, index: str, existing: list[Alias]) -> list[Alias]:
    if not isinstance(raw, dict):
        raise IllegalArgumentException("Malformed [aliases] section, expected an object")
    out = []
    for alias, spec in raw.items():
        spec = dict(spec or {})
        out.append(make_alias(str(alias), index, spec))
    return out


def make_alias(alias: str, index: str, spec: dict[str, Any]) -> Alias:
    """An alias definition, checked (name rules, known keys)."""
    try:
        validate_index_name(alias)
    except InvalidIndexName as exc:
        raise ElasticsearchError(exc.reason.replace("Invalid index name", "Invalid alias name", 1), status=400,
                                 error_type="invalid_alias_name_exception") from None
    known = {"filter", "routing", "index_routing", "search_routing", "is_hidden", "is_write_index"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise IllegalArgumentException(f"[aliases] unknown field [{unknown[0]}]")
    is_write = spec.pop("is_write_index", None)
    return Alias(alias, index, None if is_write is None else bool(is_write), spec)


def get(store: IndexStore, catalog: IndexCatalog, names: list[str], features: set[str]) -> dict[str, Any]:
    """``GET /{index}``: aliases, mappings, settings of each index."""
    aliases = catalog.aliases()
    out: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {}
        if "aliases" in features:
            entry["aliases"] = {a.name: a.render() for a in aliases if a.index == name}
        if "mappings" in features:
            entry["mappings"] = mapping_of(store, name)
        if "settings" in features:
            entry["settings"] = settings_of(catalog, name)
        out[name] = entry
    return out


def mapping_of(store: IndexStore, name: str) -> dict[str, Any]:
    """The index's ``mappings`` as Elasticsearch shows them."""
    return mp.render(store.properties(name), store.mapping_options(name), store.hints(name))


def settings_of(catalog: IndexCatalog, name: str) -> dict[str, Any]:
    """The index's settings, nested, with the facts Elasticsearch adds (uuid, creation date, version)."""
    uuid, created = catalog.facts(name)
    values = {"index.number_of_shards": "1", "index.number_of_replicas": "1",
              # every new Elasticsearch index prefers the content tier (DataTier's default for non-data-streams)
              "index.routing.allocation.include._tier_preference": "data_content", **catalog.settings(name),
              "index.uuid": uuid, "index.creation_date": str(created), "index.provided_name": name,
              "index.version.created": VERSION_CREATED}
    return nested(values)


def delete(store: IndexStore, catalog: IndexCatalog, expression: str, options: Options) -> dict[str, Any]:
    """``DELETE /{index}``: wildcards and comma lists; an alias must be named by its indices."""
    names = resolve(expression, store.indices(), catalog.aliases(), options, aliases_allowed=False)
    for name in names:
        store.delete_index(name)
        catalog.forget(name)
    return {"acknowledged": True}


def put_mapping(store: IndexStore, names: list[str], body: Any) -> dict[str, Any]:
    """``PUT /{index}/_mapping``: new fields added, existing ones unchanged (conflicts refused, nothing written)."""
    props, options, hints = mp.parse(body)
    planned = []
    for name in names:  # check every index before changing any
        merged = mp.merge(store.properties(name), props)
        layout = store.hints(name)
        for path, hint in hints.items():
            old = layout.get(path)
            if old is not None and (old.kind, old.dims) != (hint.kind, hint.dims):
                raise IllegalArgumentException(f"mapper [{path}] cannot be changed from type [{old.kind}] to "
                                               f"[{hint.kind}]")
        planned.append((name, merged, {**store.mapping_options(name), **options}))
    for name, merged, opts in planned:
        store.ensure_index(name, hints)
        store.put_mapping(name, merged, opts)
    return {"acknowledged": True}


def put_settings(store: IndexStore, catalog: IndexCatalog, names: list[str], body: Any) -> dict[str, Any]:
    """``PUT /{index}/_settings``: dynamic settings only, as on an open Elasticsearch index; ``null`` resets."""
    if isinstance(body, dict) and isinstance(body.get("settings"), dict) and len(body) == 1:
        body = body["settings"]
    settings = flat(body)
    check_counts(settings)
    static = sorted(k for k in settings if k in STATIC)
    if static:
        where = ", ".join(f"[{n}/{catalog.facts(n)[0]}]" for n in names)
        raise IllegalArgumentException(f"Can't update non dynamic settings [[{', '.join(static)}]] for open "
                                       f"indices [{where}] unless the `reopen` query parameter is set to true. "
                                       "Alternatively, close the indices, apply the settings changes, and reopen "
                                       "the indices")  # Elasticsearch 9's wording
    for name in names:
        catalog.put_settings(name, settings)
    return {"acknowledged": True}


def health(catalog: IndexCatalog, name: str) -> str:
    """green with no replicas, else yellow: one node never holds replicas."""
    return "green" if str(catalog.settings(name).get("index.number_of_replicas", "1")) == "0" else "yellow"


def shard_health(catalog: IndexCatalog, names: list[str], level: str = "cluster") -> dict[str, Any]:
    """``_cluster/health`` counts of ``names`` on one node: every primary active, every replica unassigned.
    ``level`` ``indices`` adds Elasticsearch's ``indices`` section (``shards`` adds each index's shards)."""
    primaries = replicas = 0
    per_index: dict[str, Any] = {}
    for name in names:
        s = catalog.settings(name)
        p = int(s.get("index.number_of_shards", 1))
        r = int(s.get("index.number_of_replicas", 1))
        primaries += p
        replicas += p * r
        status = "yellow" if r else "green"
        per_index[name] = {"status": status, "number_of_shards": p, "number_of_replicas": r,
                           "active_primary_shards": p, "active_shards": p, "relocating_shards": 0,
                           "initializing_shards": 0, "unassigned_shards": p * r, "unassigned_primary_shards": 0}
        if level == "shards":
            per_index[name]["shards"] = {str(i): {
                "status": status, "primary_active": True, "active_shards": 1, "relocating_shards": 0,
                "initializing_shards": 0, "unassigned_shards": r, "unassigned_primary_shards": 0} for i in range(p)}
    total = primaries + replicas
    body: dict[str, Any] = {
        "status": "yellow" if replicas else "green", "active_primary_shards": primaries,
        "active_shards": primaries, "unassigned_shards": replicas,
        "active_shards_percent_as_number": 100.0 * primaries / total if total else 100.0}
    if level in ("indices", "shards"):
        body["indices"] = per_index
    return body


def shard_copies(catalog: IndexCatalog, name: str) -> int:
    """Copies of a document of ``name``: its primary and its replicas (a write's ``_shards.total``)."""
    return 1 + int(catalog.settings(name).get("index.number_of_replicas", 1))


def shard_counts(catalog: IndexCatalog, names: list[str]) -> dict[str, int]:
    """``_shards`` of a broadcast action (refresh, flush) over ``names``: primaries succeed, replicas do not
    exist on one node."""
    total = successful = 0
    for name in names:
        s = catalog.settings(name)
        primaries = int(s.get("index.number_of_shards", 1))
        total += primaries * (1 + int(s.get("index.number_of_replicas", 1)))
        successful += primaries
    return {"total": total, "successful": successful, "failed": 0}
