"""Which index a write goes to and which pipelines run for it: the one place that decides, for ``_bulk``,
``_doc`` and jobs alike.

As Elasticsearch's ``IngestService.resolvePipelines``: a name that is an alias writes to the alias's write
index, and that index's settings apply; the request's pipeline (``?pipeline=`` or the bulk item's) replaces
``index.default_pipeline``; ``_none`` disables either; ``index.final_pipeline`` runs after them and may not
change the target index. After a pipeline moves a document to another index, that index's pipelines are
resolved again (:meth:`Resolver.after_reroute`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ingest.indices.catalog import Alias
from ingest.indices.expressions import write_index
from ingest.indices.templates import TemplateSource, compose

NONE = "_none"


class IndexSettingsSource(Protocol):
    """Aliases and flat settings of indices (``IndexCatalog``)."""

    def aliases(self) -> list[Alias]: ...
    def settings(self, name: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class IndexPipelines:
    """The concrete index a document is written to and the pipelines that run, in order. ``final`` is the
    last of ``pipelines`` when the index has a final pipeline."""

    index: str
    pipelines: tuple[str, ...]
    final: str | None = None


class Resolver:
    """Resolves targets and pipelines; reads aliases once and each index's settings once (one per request)."""

    def __init__(self, source: IndexSettingsSource, templates: TemplateSource | None = None) -> None:
        self.source = source
        self.templates = templates  # a new index's settings come from its matching template
        self._aliases: list[Alias] | None = None
        self._settings: dict[str, dict[str, Any]] = {}

    def aliases(self) -> list[Alias]:
        """The aliases (read once)."""
        if self._aliases is None:
            self._aliases = self.source.aliases()
        return self._aliases

    def settings(self, index: str) -> dict[str, Any]:
        """The index's flat settings (read once)."""
        if index not in self._settings:
            settings = self.source.settings(index)
            if not settings and self.templates is not None:  # not created yet: what auto-create will give it
                settings = compose(self.templates, index, {}).get("settings") or {}
            self._settings[index] = settings
        return self._settings[index]

    def write_index(self, name: str) -> str:
        """The concrete index a write to ``name`` (an index or an alias) goes to."""
        return write_index(name, self.aliases())

    def pipelines_for(self, name: str, request_pipeline: str | None = None, *,
                      with_default: bool = True) -> IndexPipelines:
        """Target and pipelines for a document sent to ``name`` with ``request_pipeline`` (None: not given)."""
        index = self.write_index(name)
        settings = self.settings(index)
        first = request_pipeline if request_pipeline is not None else (
            settings.get("index.default_pipeline") if with_default else None)
        final = settings.get("index.final_pipeline")
        final = None if final in (None, NONE) else str(final)
        chain = tuple(p for p in (None if first in (None, NONE) else str(first), final) if p is not None)
        return IndexPipelines(index, chain, final)

    def after_reroute(self, new_index: str, rerouted: bool) -> IndexPipelines:
        """Pipelines of the index a pipeline moved a document to: its default pipeline only when the move was
        a ``reroute`` (Elasticsearch keeps plain ``_index`` changes from running it), then its final pipeline."""
        return self.pipelines_for(new_index, None, with_default=rerouted)


def pipelines_for(source: IndexSettingsSource, name: str, request_pipeline: str | None = None) -> IndexPipelines:
    """One-off :meth:`Resolver.pipelines_for` (jobs resolve once per job)."""
    return Resolver(source).pipelines_for(name, request_pipeline)
