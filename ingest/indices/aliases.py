"""Alias actions (``POST /_aliases``, ``PUT|DELETE /{index}/_alias/{name}``) and ``GET /_alias`` bodies, checked
as Elasticsearch checks them and applied atomically."""

from __future__ import annotations

from typing import Any

from ingest.indices import service
from ingest.indices.catalog import Alias, IndexCatalog
from ingest.indices.expressions import Options, resolve
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.models.templatestore import simple_match

ACTIONS = ("add", "remove", "remove_index")


def aliases_missing(names: list[str]) -> ElasticsearchError:
    """``aliases_not_found_exception`` (404)."""
    return ElasticsearchError(f"aliases [{','.join(names)}] missing", status=404,
                              error_type="aliases_not_found_exception",
                              extra={"resource.type": "aliases", "resource.id": ",".join(names)})


def _names(spec: dict[str, Any], one: str, many: str) -> list[str]:
    value = spec.get(many, spec.get(one))
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def update(store: service.IndexStore, catalog: IndexCatalog, actions: Any) -> dict[str, Any]:
    """Apply ``actions`` (``add``, ``remove``, ``remove_index``) all or nothing."""
    if not isinstance(actions, list) or not actions:
        raise ElasticsearchError("Validation Failed: 1: no alias actions were specified;", status=400,
                                 error_type="action_request_validation_exception")
    current = catalog.aliases()
    indices = store.indices()
    adds: list[Alias] = []
    removes: list[tuple[str, str]] = []
    drop: list[str] = []
    for entry in actions:
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ACTIONS:
            raise IllegalArgumentException(f"[aliases] unknown action {next(iter(entry)) if isinstance(entry, dict) and entry else entry}")
        kind, raw = next(iter(entry.items()))
        spec = dict(raw or {})
        targets = resolve(",".join(_names(spec, "index", "indices")) or None, indices, [], Options(False, False)) \
            if _names(spec, "index", "indices") else []
        if not targets:
            raise ElasticsearchError("Validation Failed: 1: One of [index] or [indices] is required;", status=400,
                                     error_type="action_request_validation_exception")
        if kind == "remove_index":
            drop += targets
            continue
        names = _names(spec, "alias", "aliases")
        if not names:
            raise ElasticsearchError("Validation Failed: 1: One of [alias] or [aliases] is required;", status=400,
                                     error_type="action_request_validation_exception")
        if kind == "add":
            body = {k: v for k, v in spec.items() if k not in ("index", "indices", "alias", "aliases")}
            body.pop("must_exist", None)
            for index in targets:
                for name in names:
                    if name in indices:
                        raise ElasticsearchError(f"Invalid alias name [{name}]: an index or data stream exists with "
                                                 "the same name as the alias", status=400,
                                                 error_type="invalid_alias_name_exception")
                    adds.append(service.make_alias(name, index, dict(body)))
        else:
            for index in targets:
                found = [a.name for a in current if a.index == index and any(simple_match(n, a.name) for n in names)]
                if not found and spec.get("must_exist") is not False:
                    raise aliases_missing(names)
                removes += [(f, index) for f in found]
    _check_write_indices(current, adds, removes, set(drop))
    catalog.apply_alias_changes(adds, removes)
    for index in drop:
        store.delete_index(index)
        catalog.forget(index)
    return {"acknowledged": True, "errors": False}


def _check_write_indices(current: list[Alias], adds: list[Alias], removes: list[tuple[str, str]],
                         dropped: set[str]) -> None:
    after = {(a.name, a.index): a for a in current if (a.name, a.index) not in set(removes) and a.index not in dropped}
    for a in adds:
        after[(a.name, a.index)] = a
    writers: dict[str, list[str]] = {}
    for a in after.values():
        if a.is_write_index:
            writers.setdefault(a.name, []).append(a.index)
    for name, idx in writers.items():
        if len(idx) > 1:
            raise ElasticsearchError(f"alias [{name}] has more than one write index [{','.join(sorted(idx))}]",
                                     status=500, error_type="illegal_state_exception")


def get(catalog: IndexCatalog, indices: list[str], names: str | None, *, all_indices: bool) -> tuple[dict[str, Any], list[str]]:
    """``GET [/{index}]/_alias[/{name}]``: ``{index: {"aliases": {...}}}`` and the alias names asked for but
    not found (Elasticsearch answers 404 with them)."""
    wanted = [n for n in (names or "").split(",") if n] if names and names not in ("_all", "*") else None
    out: dict[str, Any] = {}
    seen: set[str] = set()
    aliases = catalog.aliases()
    for index in indices:
        mine = {a.name: a.render() for a in aliases if a.index == index
                and (wanted is None or any(simple_match(w, a.name) for w in wanted))}
        seen |= set(mine)
        if mine or (wanted is None and all_indices):
            out[index] = {"aliases": mine}
    missing = [w for w in (wanted or []) if "*" not in w and w not in seen]
    return out, missing
