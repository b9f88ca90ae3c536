"""ingest: Elasticsearch's inference API, ingest pipelines, bulk jobs and a REST server, embeddable in Python.

The public API (README, "Python API"): ``run_job`` (a bulk job over a path/URL, a pyarrow Table or
RecordBatchReader, a pandas/polars DataFrame or dicts), ``inference`` and ``InferenceAPI`` (endpoints),
``pipelines`` (stored pipelines, simulate), ``search`` (the embedded store), ``dead_letters`` (what jobs could
not index), ``JobSummary``, ``Pipeline``, ``PipelineService`` and ``ElasticsearchError``. The top layer lives here
too: jobs, sources, sinks, the REST server and the CLI (``ingest.models`` and ``ingest.processors`` are the lower
layers).

Everything is loaded on first use: importing ``ingest.models.x`` runs this file first, and ``ingest --version``
must stay fast, so this module imports nothing itself.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs more than the rest of this file
if TYPE_CHECKING:
    from ingest.jobs.config import JobSummary
    from ingest.models.api import InferenceAPI
    from ingest.models.errors import ElasticsearchError
    from ingest.processors.pipeline import Pipeline
    from ingest.processors.service import PipelineService
    from ingest.public.facade import dead_letters, inference, pipelines, search
    from ingest.public.jobs import run_job

# name → the module that defines it
_EXPORTS = {
    "run_job": "ingest.public.jobs",
    "JobSummary": "ingest.jobs.config",
    "inference": "ingest.public.facade",
    "pipelines": "ingest.public.facade",
    "search": "ingest.public.facade",
    "dead_letters": "ingest.public.facade",
    "InferenceAPI": "ingest.models.api",
    "Pipeline": "ingest.processors.pipeline",
    "PipelineService": "ingest.processors.service",
    "ElasticsearchError": "ingest.models.errors",
}

__all__ = ["ElasticsearchError", "InferenceAPI", "JobSummary", "Pipeline", "PipelineService", "dead_letters",
           "inference", "pipelines", "run_job", "search"]


def __getattr__(name: str) -> object:
    """Load a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
