"""Which pipelines a job runs, decided as for ``_bulk`` (``ingest.indices.targets``): writing to the embedded
store, the job's ``--pipeline`` (else the index's ``index.default_pipeline``) and then the index's
``index.final_pipeline``, on the write index of an alias. A cluster destination runs its own default and
final pipelines, so there the job runs only ``--pipeline``."""

from __future__ import annotations

import dataclasses
from typing import Any

from ingest.indices.catalog import IndexCatalog
from ingest.indices.targets import Resolver
from ingest.jobs.config import JobConfig


def resolve_job(config: JobConfig) -> tuple[JobConfig, str | None, str | None]:
    """(``config`` aimed at the write index, the first pipeline — an id or a pipeline file —, the final one)."""
    if config.dest != "embedded":
        return config, config.pipeline, None
    from ingest.models.store import Store

    catalog, templates = IndexCatalog(), Store()
    try:
        plan = Resolver(catalog, templates).pipelines_for(config.index, config.pipeline)
    finally:
        catalog.close()
        templates.close()
    final = plan.final
    first = plan.pipelines[0] if (plan.pipelines and plan.pipelines[0] != final) or len(plan.pipelines) > 1 else None
    if config.index != plan.index:
        config = dataclasses.replace(config, index=plan.index)
    return config, first, final


def chain_body(first: dict[str, Any], final: str) -> dict[str, Any]:
    """One pipeline body running ``first``'s processors and then the stored pipeline ``final`` (through a
    ``pipeline`` processor, so ``final`` is the stored one, cycles included)."""
    processors = list(first.get("processors") or [])
    return {**first, "processors": [*processors, {"pipeline": {"name": final}}]}
