"""The application context: what one process (a server, a CLI command, a job, a Ray worker) works with.

Built once by the entry (``create_app``, the CLI's commands, ``run_job``) from one :class:`Settings` and passed
down, so nothing below reads the environment or reaches for process-wide singletons: two contexts in one
process (tests, an embedding application) never share a registry, a store or dead letters. A Ray worker
rebuilds its context from the settings the driver shipped (``Settings.to_env()`` in the runtime environment).

Everything is opened on first use and closed by :meth:`AppContext.close` (only what the context opened: an
``api`` handed in stays its owner's).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.models.home import ingest_home
from ingest.models.settings import Settings

if TYPE_CHECKING:
    from ingest.deadletter.store import DeadLetterStore
    from ingest.indices.catalog import IndexCatalog
    from ingest.jobs.cache import EmbeddingCache
    from ingest.jobs.checkpoint import Checkpoints
    from ingest.jobs.indexmeta import IndexMeta
    from ingest.models.api import InferenceAPI
    from ingest.models.store import Store
    from ingest.presence import Presence
    from ingest.processors import PipelineService
    from ingest.searching.service import SearchService
    from ingest.sinks.base import Sink


class AppContext:
    """Settings, home, inference API, pipelines, dead letters and sinks of one application.

    ``api``: an inference API built elsewhere; the context then lives in that API's home (the folder of its
    registry), whatever ``$INGEST_HOME`` says, so everything the app stores sits beside the registry it was given.
    """

    def __init__(self, settings: Settings | None = None, *, api: InferenceAPI | None = None) -> None:
        settings = settings or Settings.from_env()
        if api is not None and settings.home != api.store.path.parent:
            settings = dataclasses.replace(settings, home=api.store.path.parent)
        self.settings = settings
        self._api, self._owns_api = api, api is None
        self._store: Store | None = api.store if api is not None else None
        self._pipelines: PipelineService | None = None
        self._deadletters: DeadLetterStore | None = None
        self._lock = threading.RLock()
        self._search: SearchService | None = None

    @property
    def home(self) -> Path:
        """The home folder (created 0700)."""
        return ingest_home(self.settings)

    @property
    def api(self) -> InferenceAPI:
        """The inference API over this home's registry, built on first use (commands that need no model never
        load one)."""
        with self._lock:
            if self._api is None:
                from ingest.models.api import InferenceAPI
                from ingest.models.deployments import DeploymentManager
                from ingest.models.deployments.manager import scale_to_zero_time

                deployments = DeploymentManager(scale_down_after_s=scale_to_zero_time(self.settings))
                self._api = InferenceAPI(self.registry(), deployments=deployments)
            return self._api

    def registry(self) -> Store:
        """This home's registry (endpoints, pipelines, keys, security settings): the API's store, opened alone
        for commands that need no inference (``ingest keys``, ``ingest security``)."""
        with self._lock:
            if self._store is None:
                from ingest.models.store import Store

                self._store = Store(self.home / "registry.sqlite")
            return self._store

    def pipelines(self, inference: Any = None) -> PipelineService:
        """The pipeline service over this home's registry. ``inference`` (e.g. a caching wrapper of ``api``)
        makes a new service calling it; without one, the context's own service over ``api``."""
        from ingest.processors import PipelineService

        if inference is not None:
            return PipelineService(self.api.store, inference)
        with self._lock:
            if self._pipelines is None:
                self._pipelines = PipelineService(self.api.store, self.api)
            return self._pipelines

    def deadletters(self) -> DeadLetterStore:
        """This home's dead-letter store (``deadletter.sqlite``), shared by the context's users."""
        with self._lock:
            if self._deadletters is None:
                from ingest.deadletter.store import DeadLetterStore

                self._deadletters = DeadLetterStore(self.home / "deadletter.sqlite")
            return self._deadletters

    def embedding_cache(self) -> EmbeddingCache:
        """A new handle on this home's skip-unchanged embedding cache (its caller closes it)."""
        from ingest.jobs.cache import EmbeddingCache

        return EmbeddingCache(self.home / "embedding_cache.sqlite")

    def index_catalog(self) -> IndexCatalog:
        """The indices' settings, facts and aliases (the same SQLite file as ``index_meta``); caller closes it."""
        from ingest.indices.catalog import IndexCatalog

        return IndexCatalog(self.home / "indices.sqlite")

    def index_meta(self) -> IndexMeta:
        """A new handle on this home's index metadata (``indices.sqlite``; its caller closes it)."""
        from ingest.jobs.indexmeta import IndexMeta

        return IndexMeta(self.home / "indices.sqlite")

    def checkpoints(self, job_id: str) -> Checkpoints:
        """One job's checkpoint file in this home."""
        from ingest.jobs.checkpoint import Checkpoints

        return Checkpoints(job_id, folder=self.home / "jobs")

    def open_sink(self, dest: str, **options: Any) -> Sink:
        """A new sink for ``dest`` (an ``open_sink`` string); ``embedded`` is this home's store, with the
        settings' DuckDB memory limit."""
        from ingest.sinks import open_sink
        from ingest.sinks.registry import kind_of

        kind = kind_of(dest)
        if kind.capabilities.index_store and dest in kind.schemes:  # a bare scheme: this home's store
            dest = self._home_store(dest)
        served = self.served_store(dest)
        if served is not None:  # the home's server owns the store file: go through it
            from ingest.sinks.served import open_served

            return open_served(served.url, served.token, self._served_now)
        if kind.capabilities.index_store:
            from ingest.semantic.enrich import SemanticInference

            options.setdefault("memory_limit", self.settings.duckdb_memory_limit)
            # semantic_text fields are embedded on every write, through this context's inference API
            options.setdefault("inference", SemanticInference(lambda: self.api))
        return open_sink(dest, **options)

    def served_store(self, dest: str) -> Presence | None:
        """The live ``ingest serve`` of this home when ``dest`` is this home's embedded store (the server
        owns the file then: DuckDB admits one process), else None."""
        from ingest.sinks.registry import kind_of

        kind = kind_of(dest)
        if not kind.capabilities.index_store or (dest not in kind.schemes and dest != self._home_store(kind.schemes[0])):
            return None
        from ingest.presence import running

        found = running(self.home)
        return found if found is not None and found.owns_store else None  # a server of --dest URL leaves it alone

    def _home_store(self, scheme: str) -> str:
        """The ``dest`` of this home's own store (``indices.duckdb``) for a kind that keeps its indices."""
        return f"{scheme}://{self.home / 'indices.duckdb'}"

    def _served_now(self) -> tuple[str, str] | None:
        from ingest.presence import running

        found = running(self.home)
        return (found.url, found.token) if found is not None and found.owns_store else None

    def search(self) -> SearchService:
        """This application's search service (cached corpora, scrolls, points in time)."""
        with self._lock:
            if self._search is None:
                from ingest.searching.service import SearchService

                self._search = SearchService(self.settings.knn_exact_below)
            return self._search

    def close(self) -> None:
        """Close what the context opened (an ``api`` handed in is left to its owner)."""
        with self._lock:
            api, self._api = (self._api, None) if self._owns_api else (None, self._api)
            store = self._store if self._owns_api else None
            if self._owns_api:
                self._store = None
            letters, self._deadletters = self._deadletters, None
            self._pipelines = None
        if letters is not None:
            letters.close()
        if api is not None:
            api.close()  # closes its store, the registry
        elif store is not None:
            store.close()
