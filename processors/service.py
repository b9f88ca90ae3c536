"""``PipelineService``: stored pipelines over ingest.models.store.Store, plus simulate."""

from __future__ import annotations

import fnmatch
from typing import Any

from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.processors.base import EnrichSource, SecurityUser
from ingest.processors.errors import ParseException
from ingest.processors.pipeline import Pipeline, parse_pipeline
from ingest.processors.protocols import InferenceClient, PipelineStore
from ingest.processors.simulate import SIMULATED_PIPELINE_ID, simulate


class PipelineService:
    """Put/get/delete/simulate pipelines; ``load`` gives a runnable :class:`Pipeline`."""

    def __init__(self, store: PipelineStore, inference: InferenceClient | None = None,
                 enrich: EnrichSource | None = None) -> None:
        self.store = store
        self.inference = inference
        self.enrich = enrich  # enrich policies for the ``enrich`` processor (None: there are none)
        self._cache: dict[str, tuple[str, Pipeline]] = {}

    # --- CRUD --------------------------------------------------------------------------------------------
    def put(self, pipeline_id: str, body: dict[str, Any], if_version: int | None = None) -> dict[str, Any]:
        """Validate and store a pipeline (``if_version`` for optimistic concurrency)."""
        _check_id(pipeline_id)
        pipeline = parse_pipeline(pipeline_id, body)
        self._check_endpoints(pipeline)
        self.store.put_pipeline(pipeline_id, body, pipeline.endpoint_refs(), if_version)
        self._cache.pop(pipeline_id, None)
        return {"acknowledged": True}

    def get(self, ids: list[str] | str | None = None, *, summary: bool = False) -> dict[str, Any]:
        """Stored pipelines by id, comma list or wildcard (``None``/``*``/``_all`` = all)."""
        patterns = _patterns(ids)
        found = self.store.get_pipelines(patterns)
        return {pid: ({} if summary else body) for pid, body in found.items()}

    def delete(self, pattern: str, warnings: list[str] | None = None) -> dict[str, Any]:
        """Delete pipelines matching ``pattern`` (comma list / wildcards); 404 when an exact id is missing.

        Pipelines still named by another pipeline's ``pipeline`` processor are deleted with a warning (appended
        to ``warnings``), as Elasticsearch does.
        """
        parts = [p.strip() for p in pattern.split(",") if p.strip()]
        existing = self.store.get_pipelines(None)
        for part in parts:
            if "*" not in part and part not in existing:
                raise ResourceNotFoundException(f"pipeline [{part}] is missing")
        targets = {pid for pid in existing for part in parts if part == "_all" or fnmatch.fnmatchcase(pid, part)}
        if warnings is not None:
            for other, body in existing.items():
                if other in targets:
                    continue
                try:
                    refs = parse_pipeline(other, body).pipeline_refs()
                except Exception:
                    continue
                for ref in refs:
                    if ref in targets:
                        warnings.append(f"pipeline [{ref}] is referenced by pipeline [{other}] and was deleted")
        for part in parts:
            self.store.delete_pipelines("*" if part == "_all" else part)
        for pid in targets:
            self._cache.pop(pid, None)
        return {"acknowledged": True}

    # --- running ----------------------------------------------------------------------------------------
    def load(self, pipeline_id: str) -> Pipeline:
        """The stored pipeline, parsed and ready to run."""
        pipeline = self._resolve(pipeline_id)
        if pipeline is None:
            raise ResourceNotFoundException(f"pipeline with id [{pipeline_id}] does not exist")
        return pipeline

    def parse(self, body: dict[str, Any], pipeline_id: str = SIMULATED_PIPELINE_ID) -> Pipeline:
        """A pipeline given inline (a file or a simulate body), wired to stored pipelines and endpoints."""
        pipeline = parse_pipeline(pipeline_id, body)
        self._wire(pipeline)
        return pipeline

    def simulate(self, body: dict[str, Any], pipeline_id: str | None = None, verbose: bool = False,
                 user: SecurityUser | None = None) -> dict[str, Any]:
        """``_simulate``: the stored pipeline ``pipeline_id`` or the body's ``pipeline`` on the body's docs
        (``user``: who the request runs as, for ``set_security_user``)."""
        if not isinstance(body, dict):
            raise ParseException("request body must be an object")
        if pipeline_id is not None:
            pipeline = self._resolve(pipeline_id)
            if pipeline is None:
                raise IllegalArgumentException(f"pipeline [{pipeline_id}] does not exist")
        else:
            if body.get("pipeline") is None:
                raise ParseException("[pipeline] required property is missing", extra={"property_name": "pipeline"})
            pipeline = self.parse(body["pipeline"])
        unknown = sorted(set(body) - {"docs", "pipeline"})
        if unknown:
            raise ParseException(f"[simulate] unknown field [{unknown[0]}]")
        return simulate(pipeline, body, verbose, user)

    def _resolve(self, pipeline_id: str) -> Pipeline | None:
        body = self.store.get_pipelines([pipeline_id]).get(pipeline_id)
        if body is None:
            return None
        key = repr(body)
        cached = self._cache.get(pipeline_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        pipeline = parse_pipeline(pipeline_id, body)
        self._wire(pipeline)
        self._cache[pipeline_id] = (key, pipeline)
        return pipeline

    def _wire(self, pipeline: Pipeline) -> None:
        pipeline.resolve_pipeline = self._resolve
        pipeline.inference = self.inference
        pipeline.enrich = self.enrich

    def _check_endpoints(self, pipeline: Pipeline) -> None:
        if self.inference is None:
            return
        for ref in pipeline.endpoint_refs():
            try:
                self.inference.endpoint(ref)
            except ResourceNotFoundException:
                raise ParseException(f"Inference endpoint [{ref}] does not exist",
                                     extra={"processor_type": "inference", "property_name": "model_id"}) from None


def _patterns(ids: list[str] | str | None) -> list[str] | None:
    if ids is None:
        return None
    items = ids.split(",") if isinstance(ids, str) else [i for part in ids for i in part.split(",")]
    items = [i.strip() for i in items if i.strip()]
    if not items or "_all" in items or "*" in items:
        return None
    return items


def _check_id(pipeline_id: str) -> None:
    if not pipeline_id or pipeline_id.startswith("_") or any(c in pipeline_id for c in ' "*\\<|,>/?'):
        raise IllegalArgumentException(f"Invalid pipeline id [{pipeline_id}]")
