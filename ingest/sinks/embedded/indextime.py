"""Index-time inference in the embedded store (``semantic_text`` fields): the Protocol the app context's
``ingest.semantic.enrich.SemanticInference`` satisfies, which indices need it, and the store's steps that run it
(a mixin of ``EmbeddedStore``)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ingest.sinks.base import BulkAction, ItemResult
from ingest.sinks.bulk.mapping import Properties


class IndexTimeInference(Protocol):
    """Inference the store runs on each write before applying it (``ingest.semantic.enrich``: the
    ``semantic_text`` fields of an index's mapping)."""

    def enrich(self, properties: Mapping[str, Any], actions: list[BulkAction],
               stored: Callable[[set[str]], dict[str, dict[str, Any]]]) -> list[BulkAction | ItemResult]:
        """One outcome per action of one index: the action to apply, or the item's failure."""
        ...

    def record_model_settings(self, properties: Properties, actions: list[BulkAction]) -> bool:
        """Put on ``properties`` the ``model_settings`` of the fields the enriched ``actions`` embedded first (as
        Elasticsearch updates the mapping); whether ``properties`` changed."""
        ...


def maps_semantic_text(properties: Properties) -> bool:
    """Whether a mapping holds a ``semantic_text`` field (inside objects too): its writes run inference first."""
    return any(isinstance(spec, dict) and (spec.get("type") == "semantic_text"
                                           or maps_semantic_text(spec.get("properties") or {}))
               for spec in properties.values())


class IndexTimeWrites:
    """The write steps of ``EmbeddedStore`` that run index-time inference; the members below are the store's."""

    inference: IndexTimeInference | None
    _lock: threading.RLock
    _layouts: dict[str, Any]
    _properties: dict[str, Properties]
    _options: dict[str, dict[str, Any]]

    if TYPE_CHECKING:
        def _docs(self, index: str, ids: set[str]) -> dict[str, dict[str, Any]]: ...

        def put_mapping(self, index: str, properties: Properties, options: dict[str, Any]) -> None: ...

    def _semantic(self, index: str) -> bool:
        """Whether writes to ``index`` run inference first (it maps ``semantic_text`` fields)."""
        return self.inference is not None and maps_semantic_text(self._properties.get(index, {}))

    def _infer(self, actions: list[BulkAction], groups: dict[str, list[int]], results: list[ItemResult | None]
               ) -> list[BulkAction]:
        """``actions`` with the inference of their index's ``semantic_text`` fields done (outside the lock: the
        endpoint may be slow); failed items get their result and leave their group."""
        if self.inference is None:
            return actions
        actions = list(actions)
        for index, positions in groups.items():
            with self._lock:
                if not self._semantic(index):
                    continue
                props = copy.deepcopy(self._properties[index])

            def stored(ids: set[str], index: str = index) -> dict[str, dict[str, Any]]:
                with self._lock:
                    return self._docs(index, ids) if index in self._layouts and ids else {}

            outcomes = self.inference.enrich(props, [actions[p] for p in positions], stored)
            for pos, outcome in zip(list(positions), outcomes, strict=True):
                if isinstance(outcome, ItemResult):
                    results[pos] = outcome
                    positions.remove(pos)
                else:
                    actions[pos] = outcome
            self._record_model_settings(index, [actions[p] for p in positions])
        return actions

    def _record_model_settings(self, index: str, actions: list[BulkAction]) -> None:
        """The fields' ``model_settings`` from the first documents embedded, into the mapping (Elasticsearch's)."""
        if self.inference is None or not actions:
            return
        with self._lock:
            if index not in self._layouts:
                return
            props = copy.deepcopy(self._properties.get(index, {}))
            if self.inference.record_model_settings(props, actions):
                self.put_mapping(index, props, self._options.get(index, {}))
