"""``ingest.run_job``: a bulk ingest job from Python, over a path/glob/URL or data already in memory.

The same job as ``ingest run`` (same runner, same summary numbers, same dead-letter store); only the way the
source and the pipeline are given differs. Bad arguments raise Elasticsearch-shaped errors
(:class:`ingest.models.errors.ElasticsearchError`: ``status``, ``to_dict()``) before anything is read.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.jobs.config import DEFAULT_BULK_BYTES, JobConfig, JobSummary
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.processors.errors import ParseException

if TYPE_CHECKING:
    from ingest.context import AppContext
    from ingest.models.api import InferenceAPI
    from ingest.models.settings import Settings
    from ingest.sources.base import Source

_PIPELINE_FILES = (".json", ".yaml", ".yml")


def run_job(
    source: object,
    *,
    index: str,
    pipeline: str | os.PathLike[str] | dict[str, Any] | None = None,
    dest: str | None = None,
    id_field: str | None = None,
    job_id: str | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    source_format: str | None = None,
    max_errors: str | int | None = None,
    skip_unchanged: bool = True,
    bulk_docs: int = 1000,
    bulk_bytes: int = DEFAULT_BULK_BYTES,
    senders: int | None = None,
    inference: InferenceAPI | None = None,
    progress: bool = False,
    context: AppContext | None = None,
    settings: Settings | None = None,
    executor: str = "local",
    address: str | None = None,
) -> JobSummary:
    """Run a bulk ingest job, source → pipeline → ``index`` at ``dest``, and return its summary.

    - ``source``: a file, folder, glob, ``-``, ``http(s)://host/index`` or ``kafka://`` URL (as ``ingest run
      --source``); or a pyarrow ``Table`` / ``RecordBatchReader``, a pandas or polars ``DataFrame``, or an
      iterable of dicts (a list or a generator).
    - ``pipeline``: a stored pipeline id, a JSON/YAML file, or the pipeline body as a dict; None runs none.
    - ``dest``: ``embedded`` (default: the local store), ``embedded:///path.duckdb``, ``http(s)://host:port``
      (Elasticsearch / OpenSearch) or ``file:///path.parquet|.jsonl``.
    - ``id_field``: the (dotted) field holding each document's id; default: a hash of the content.
    - ``job_id``/``resume``: as ``--job-id``/``--resume``. A job over data in memory gets a new id each run
      unless given one, so resuming it needs the ``job_id`` of the interrupted run.

    - ``progress``: report progress on stderr as ``ingest run`` does (a live line on a terminal, JSON lines
      otherwise).
    - ``context``: the application context to run in (``ingest.context.AppContext``: its home's store, dead
      letters, checkpoints and inference API; left open for its owner), or ``settings`` (``Settings``, e.g.
      ``Settings.from_env({"INGEST_HOME": ...})``) to build one for this job alone. Default: the environment's settings.
    - ``executor``: ``local`` (this process) or ``ray`` (Ray Data, as ``ingest run --executor ray``; a source
      given as a path or URL; ``address``: the Ray cluster, default Ray's own lookup).

    Documents that fail are in the dead-letter store under the summary's ``job_id`` (counted in ``failed``,
    also ``dead_lettered``; ``ingest.dead_letters(job_id)`` lists them); a job that cannot run at all raises an
    ``ElasticsearchError``.
    """
    from ingest.context import AppContext
    from ingest.jobs.runner import run_job as run

    if context is not None and settings is not None:
        raise IllegalArgumentException("[context] and [settings] are exclusive: a context holds its settings")
    if executor not in ("local", "ray"):
        raise IllegalArgumentException(f"unknown executor [{executor}]: expected [local] or [ray]")
    if address is not None and executor != "ray":
        raise IllegalArgumentException("[address] is the Ray cluster of [executor=\"ray\"]")
    spec, memory = _source(source, batch_size, id_field)
    if memory is not None and executor == "ray":
        raise IllegalArgumentException(
            f"[executor=\"ray\"] reads its source on the workers: give a path or URL, not a [{spec}] source")
    if memory is not None and resume and not job_id:
        raise IllegalArgumentException("[resume] of a job over data in memory needs the [job_id] of the run to resume")
    options: dict[str, Any] = {}
    if memory is None:
        if batch_size:
            options["batch_size"] = batch_size
        if source_format:
            options["format"] = source_format
        if spec.startswith("kafka://"):
            options["id_field"] = id_field
    elif source_format:
        raise IllegalArgumentException(f"[source_format] applies to files, not to a [{spec}] source")
    config = JobConfig(
        source=spec, index=_index(index), dest=dest or "embedded", pipeline=_pipeline(pipeline), id_field=id_field,
        job_id=job_id or (f"job-{uuid.uuid4().hex[:12]}" if memory is not None else None), resume=resume,
        bulk_bytes=bulk_bytes, bulk_docs=bulk_docs, senders=senders, skip_unchanged=skip_unchanged,
        max_errors=None if max_errors is None else str(max_errors), source_options=options,
    )
    reporter = None
    if progress:
        from ingest.jobs.progress import default_reporter

        reporter = default_reporter(memory.total_rows() if memory is not None else None)
    own = context is None and settings is not None
    if own:
        context = AppContext(settings, api=inference)
    try:
        if executor == "ray":
            try:
                from ingest.executors.ray_job import run_on_ray
            except ImportError as exc:
                raise IllegalArgumentException(
                    f"the ray executor needs Ray: pip install 'ingest[ray]' ({exc})") from None
            return run_on_ray(config, address=address, reporter=reporter, context=context)
        return run(config, source=memory, inference=inference, reporter=reporter, context=context)
    finally:
        if own and context is not None:
            context.close()


def _index(index: object) -> str:
    if not isinstance(index, str) or not index:
        raise IllegalArgumentException(f"[index] must be a non-empty string, got [{index!r}]")
    return index


def _source(source: object, batch_size: int | None, id_field: str | None) -> tuple[str, Source | None]:
    """(the job's source spec, the in-memory source or None when the spec is a path or URL)."""
    from ingest.sources.memory import ArrowSource, check_id_field, describe, open_memory_source

    if isinstance(source, str | os.PathLike):
        spec = str(os.fspath(source))
        if not spec:
            raise IllegalArgumentException("[source] must not be empty")
        return spec, None
    memory = open_memory_source(source, batch_size)
    if id_field is not None and isinstance(memory, ArrowSource):
        check_id_field(memory.schema, id_field)
    return f"python:{describe(source)}", memory


def _pipeline(pipeline: object) -> str | dict[str, Any] | None:
    """The pipeline as the job config holds it; a file is checked here so that its errors name it."""
    if pipeline is None or isinstance(pipeline, dict):
        return pipeline
    if not isinstance(pipeline, str | os.PathLike):
        raise IllegalArgumentException(
            f"[pipeline] must be a stored pipeline id, a JSON/YAML file or a dict, got [{type(pipeline).__name__}]")
    spec = os.fspath(pipeline)
    path = Path(spec)
    if path.suffix.lower() in _PIPELINE_FILES:
        if not path.is_file():
            raise ResourceNotFoundException(f"pipeline file [{spec}] does not exist")
        import yaml

        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ParseException(f"pipeline file [{spec}] is not valid JSON or YAML: {exc}") from None
        if not isinstance(body, dict):
            raise ParseException(f"pipeline file [{spec}] must hold an object, found [{type(body).__name__}]")
        return str(path)
    return spec
