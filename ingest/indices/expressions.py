"""Index expressions as Elasticsearch resolves them (``IndexNameExpressionResolver``): comma lists, ``*``
wildcards, ``_all``, ``-name`` exclusions, aliases standing for their indices; ``ignore_unavailable`` and
``allow_no_indices``; and the write index of an alias."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingest.indices.catalog import Alias
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.models.templatestore import simple_match
from ingest.sinks.bulk.items import index_not_found


@dataclass(frozen=True)
class Options:
    """``ignore_unavailable`` / ``allow_no_indices`` (defaults: Elasticsearch's ``strictExpandOpen``)."""

    ignore_unavailable: bool = False
    allow_no_indices: bool = True


def options_from(params: dict[str, str], *, allow_no_indices: bool = True) -> Options:
    """Read the two options from query parameters (``"true"``/``"false"``, as Elasticsearch parses them)."""
    def flag(name: str, default: bool) -> bool:
        raw = params.get(name)
        if raw is None:
            return default
        if raw in ("", "true"):
            return True
        if raw == "false":
            return False
        raise IllegalArgumentException(f"Failed to parse value [{raw}] as only [true] or [false] are allowed.")
    return Options(flag("ignore_unavailable", False), flag("allow_no_indices", allow_no_indices))


def resolve(expression: str | None, indices: Iterable[str], aliases: list[Alias], options: Options = Options(),
            *, aliases_allowed: bool = True) -> list[str]:
    """The concrete indices an expression names, sorted; raises ``index_not_found_exception`` as Elasticsearch
    does. ``aliases_allowed=False`` (index deletion) refuses an alias named exactly."""
    existing = set(indices)
    by_alias: dict[str, set[str]] = {}
    for a in aliases:
        by_alias.setdefault(a.name, set()).add(a.index)
    parts = [p.strip() for p in (expression or "_all").split(",") if p.strip()] or ["_all"]
    out: set[str] = set()
    wildcard_seen = False
    for n, part in enumerate(parts):
        if part in ("_all", "*"):
            out |= existing
            wildcard_seen = True
            continue
        if part.startswith("-") and n > 0 and wildcard_seen:
            out -= {i for i in existing if simple_match(part[1:], i)}
            continue
        if "*" in part:
            wildcard_seen = True
            matched = {i for i in existing if simple_match(part, i)}
            for alias, targets in by_alias.items():
                if simple_match(part, alias):
                    matched |= targets
            if not matched and not options.allow_no_indices:
                raise index_not_found(part)
            out |= matched
            continue
        if part in existing:
            out.add(part)
        elif part in by_alias:
            if not aliases_allowed:
                raise IllegalArgumentException(f"The provided expression [{part}] matches an alias, specify the "
                                               "corresponding concrete indices instead.")
            out |= by_alias[part]
        elif not options.ignore_unavailable:
            raise index_not_found(part)
    if not out and not options.allow_no_indices:
        raise index_not_found(expression or "_all")
    return sorted(out)


def write_index(name: str, aliases: list[Alias]) -> str:
    """Where a write to ``name`` goes: an alias's write index (its only index unless ``is_write_index: false``),
    else ``name`` itself."""
    targets = [a for a in aliases if a.name == name]
    if not targets:
        return name
    explicit = [a for a in targets if a.is_write_index]
    if explicit:
        return explicit[0].index
    if len(targets) == 1 and targets[0].is_write_index is None:
        return targets[0].index
    raise ElasticsearchError(
        f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
        "is_write_index=false or the alias points to multiple indices without one being designated as a write "
        "index", status=400, error_type="illegal_argument_exception")
