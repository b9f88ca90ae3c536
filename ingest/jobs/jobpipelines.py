"""Which pipelines a job runs, decided as for ``_bulk`` (``ingest.indices.targets``): writing to the embedded
store, the job's ``--pipeline`` (else the index's ``index.default_pipeline``) and then the index's
``index.final_pipeline``, on the write index of an alias. A cluster destination runs its own default and
final pipelines, so there the job runs only ``--pipeline``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ingest.indices.catalog import IndexCatalog
from ingest.indices.targets import Resolver
from ingest.indices.templates import TemplateSource
from ingest.jobs.config import JobConfig
from ingest.jobs.indexmeta import IndexMeta
from ingest.sinks.registry import kind_of

_INLINE = "\0inline"  # stands for a pipeline body given inline (``ingest.run_job(pipeline={...})``)


def resolve_job(config: JobConfig, index_meta: Callable[[], IndexMeta] = IndexMeta,
                templates: TemplateSource | None = None
                ) -> tuple[JobConfig, str | dict[str, Any] | None, str | None]:
    """(``config`` aimed at the write index, the first pipeline — an id, a pipeline file or an inline body —,
    the final one).

    ``index_meta`` opens the index metadata of the job's home (the app context's), whose catalogue holds the
    indices' settings and aliases; ``templates`` the index templates (default: the home's registry)."""
    if kind_of(config.dest).name != "embedded":
        return config, config.pipeline, None
    meta = index_meta()
    catalog = IndexCatalog(meta.path)  # the same file: settings written by either are seen by both
    meta.close()
    own = None
    if templates is None:
        from ingest.models.store import Store

        templates = own = Store()
    try:
        inline = config.pipeline if isinstance(config.pipeline, dict) else None
        request = _INLINE if isinstance(config.pipeline, dict) else config.pipeline
        plan = Resolver(catalog, templates).pipelines_for(config.index, request)
    finally:
        catalog.close()
        if own is not None:
            own.close()
    final = plan.final
    first: str | dict[str, Any] | None = (
        plan.pipelines[0] if (plan.pipelines and plan.pipelines[0] != final) or len(plan.pipelines) > 1 else None)
    if first == _INLINE:
        first = inline
    if config.index != plan.index:
        config = dataclasses.replace(config, index=plan.index)
    return config, first, final


def chain_body(first: dict[str, Any], final: str) -> dict[str, Any]:
    """One pipeline body running ``first``'s processors and then the stored pipeline ``final`` (through a
    ``pipeline`` processor, so ``final`` is the stored one, cycles included)."""
    processors = list(first.get("processors") or [])
    return {**first, "processors": [*processors, {"pipeline": {"name": final}}]}
