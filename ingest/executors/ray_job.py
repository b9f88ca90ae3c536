"""``ingest run --executor ray``: the same job on Ray Data.

source files ──read_parquet/read_json/read_csv (one split per file, Arrow blocks)──▶ map_batches(IngestBlocks,
actor pool sized from the endpoint's allocations) ──▶ per-split counts + dead letters back to the driver.

Workers write to the sink themselves (through the job's ``SinkOwner`` actor for the embedded store and files,
which have one writing process). Blocks come back in input order (``preserve_order``), so once a result of split k+1 arrives
every row of split k has been acknowledged: the driver records split k's dead letters and commits it. A worker
that dies is restarted by Ray and its block re-run; the block's documents keep their deterministic ids, so a
re-run overwrites rather than duplicates.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from ingest.context import AppContext
from ingest.deadletter.store import DeadLetter, DeadLetterStore
from ingest.executors.commit import COUNTS, SplitCommitter, resume_state
from ingest.executors.inputs import JobInput, job_input
from ingest.executors.pool import LOCAL_SERVICES, PoolSpec, check_fits, pool_for_endpoints
from ingest.executors.splits import file_splits
from ingest.jobs.budget import ErrorBudget, parse_max_errors
from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.progress import Reporter, SilentReporter
from ingest.models.errors import ElasticsearchError
from ingest.models.settings import Settings

_EXTRA = ("retried", "requests_retried", "cache_hits", "cache_misses")


def run_on_ray(
    config: JobConfig,
    *,
    address: str | None = None,
    reporter: Reporter | None = None,
    concurrency: PoolSpec | None = None,
    deadletters: DeadLetterStore | None = None,
    context: AppContext | None = None,
) -> JobSummary:
    """Run ``config`` on the Ray cluster at ``address`` (None: ``RAY_ADDRESS``, else a cluster started on this
    machine with ``ray start``, else a local Ray started for the job — Ray's own lookup order).

    ``concurrency`` sizes the pool of a pipeline without a local model (default: 1 to the cluster's CPUs).
    ``context`` (default: one over the environment's settings, closed at the end) holds the checkpoints and dead
    letters; its settings are shipped to the workers, which rebuild their own context from them.
    """
    own = context is None
    context = context or AppContext()
    try:
        return _run_on_ray(config, context, address, reporter, concurrency, deadletters)
    finally:
        if own:
            context.close()


def _run_on_ray(config: JobConfig, context: AppContext, address: str | None, reporter: Reporter | None,
                concurrency: PoolSpec | None, deadletters: DeadLetterStore | None) -> JobSummary:
    import ray

    start = time.monotonic()
    reporter = reporter or SilentReporter()
    job_id = config.resolved_job_id()
    shipped = context.settings.to_env()
    checkpoints = context.checkpoints(job_id)
    state = checkpoints.load() if config.resume else None
    if not config.resume:
        checkpoints.clear()
    done, totals = resume_state(state, job_id)
    if not config.source.startswith(("http://", "https://")):
        file_splits(config.source, config.source_options)  # bad input fails here, before connecting to Ray
    endpoints = _pipeline_endpoints(config, context.settings)
    deadletters = deadletters or context.deadletters()
    parse_max_errors(config.max_errors)  # a bad --max-errors fails here, before connecting to Ray
    extra = dict.fromkeys(_EXTRA, 0)
    unreadable: list[str] = []  # files dead-lettered whole
    _connect(ray, address, shipped)
    owner = limiter = None
    commit: SplitCommitter | None = None
    completed = False
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        source = job_input(config, done, state, default_slices=cpus)
        commit = SplitCommitter(checkpoints, config, done, totals, source.todo, source.position)
        try:
            owner, limiter = _start_actors(ray, config, job_id, endpoints, shipped)
            pool = pool_for_endpoints(endpoints, default=concurrency or PoolSpec(1, cpus, 1.0))
            check_fits(pool, [float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")])
            if source.todo:
                _execute(ray, source, pool, config, job_id, limiter is not None, commit, extra, deadletters, reporter,
                         unreadable, shipped)
            commit.through(len(source.todo))
            completed = True
        finally:
            source.close()
    except KeyboardInterrupt:
        if commit is None:
            raise
    except Exception as exc:
        cause = _es_cause(exc)
        if cause is not None and cause is not exc:
            raise cause from exc  # the worker's Elasticsearch-shaped error, not Ray's wrapper
        raise
    finally:
        try:
            if owner is not None:
                _finish(ray, owner, completed)
        finally:
            _stop_actors(ray, owner, limiter)
            ray.shutdown()
    assert commit is not None
    if completed:
        commit.save("completed")
    summary = JobSummary(job_id=job_id, index=config.index, elapsed_s=time.monotonic() - start, completed=completed,
                         unreadable_files=unreadable)
    for key, value in [*((k, commit.totals[k]) for k in COUNTS), *extra.items()]:
        setattr(summary, key, value)
    reporter.finish(summary.to_dict())
    return summary


def _execute(ray: Any, source: JobInput, pool: PoolSpec, config: JobConfig, job_id: str, limited: bool,
             commit: SplitCommitter, extra: dict[str, int], deadletters: DeadLetterStore, reporter: Reporter,
             unreadable: list[str], settings: dict[str, str]) -> None:
    """Read → pool of ``IngestBlocks`` actors → results in input order, committed split by split."""
    from ingest.executors.worker import IngestBlocks

    ds = source.read(ray).map_batches(
        IngestBlocks, batch_format="pyarrow", batch_size=None,
        compute=ray.data.ActorPoolStrategy(min_size=pool.min_size, max_size=pool.max_size),
        num_cpus=pool.num_cpus,
        fn_constructor_kwargs={"config": config.describe(), "owner_name": _name("sink", job_id),
                               "via_owner": _single_writer(config.dest), "split_column": source.split_column,
                               "limiter_name": _name("ratelimit", job_id) if limited else None,
                               "settings": settings},
    )  # Ray Data's actor defaults already restart dead actors and retry their tasks without limit
    budget = ErrorBudget(deadletters, parse_max_errors(config.max_errors), _Live(commit), job_id)
    for out in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        for row in out.to_pylist():
            # Dead letters are durable before the split they belong to can be committed.
            letters = [DeadLetter(**d) for d in json.loads(row["letters"])]
            deadletters.add(letters)
            for key in _EXTRA:
                extra[key] += int(row[key])
            commit.result(row)
            reporter.update({**commit.live(), "retried": extra["retried"]})
            unreadable.extend(json.loads(row.get("unreadable") or "[]"))
            budget.count(letters)  # --max-errors, once the block's counts are in
    budget.check_final()


class _Live:
    """The job's live counts for the error budget (``ingest.jobs.budget.Progress``)."""

    def __init__(self, commit: SplitCommitter) -> None:
        self.commit = commit

    @property
    def read(self) -> int:
        return self.commit.live()["read"]

    @property
    def indexed(self) -> int:
        return self.commit.live()["indexed"]

    @property
    def dropped(self) -> int:
        return self.commit.live()["dropped"]


def _es_cause(exc: BaseException) -> ElasticsearchError | None:
    """The first Elasticsearch error in a chain of Ray wrappers (``RayTaskError.cause``, ``__cause__``); Ray's
    wrappers subclass the cause's class dynamically, so they are told apart by their module."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ElasticsearchError) and not type(current).__module__.startswith("ray"):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    return None


def _name(kind: str, job_id: str) -> str:
    return f"ingest-{kind}-{job_id}"


def _single_writer(dest: str) -> bool:
    """Destinations one process must write (the registry's ``writers="one"``: the embedded store's single
    DuckDB writer, files' one staging store and export per index): workers send their bulks to the owner."""
    from ingest.sinks.registry import capabilities

    return capabilities(dest).writers == "one"


def _pipeline_endpoints(config: JobConfig, settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """``(service, service_settings)`` of each endpoint the pipeline calls (nothing is loaded)."""
    if not config.pipeline:
        return []
    from ingest.jobs.pipelinespec import load_pipeline

    context = AppContext(settings)  # its own API, closed before the workers start theirs
    try:
        pipeline, _ = load_pipeline(config.pipeline, context.pipelines())
        endpoints = []
        for ref in pipeline.endpoint_refs():
            endpoint = context.api.endpoint(ref)
            endpoints.append((str(endpoint.service), dict(endpoint.service_settings)))
        return endpoints
    finally:
        context.close()


def _connect(ray: Any, address: str | None, env: dict[str, str]) -> None:
    """Join the cluster with the driver's settings (``Settings.to_env()``) as the workers' environment, for the
    code that reads the settings of its process (the model cache, the ML platform)."""
    kwargs: dict[str, Any] = {"namespace": "ingest", "runtime_env": {"env_vars": env}, "log_to_driver": False,
                              "configure_logging": False}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        kwargs["include_dashboard"] = False
    ray.init(address=address, **kwargs)
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results in input order: the basis of split checkpoints
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


def _start_actors(ray: Any, config: JobConfig, job_id: str,
                  endpoints: list[tuple[str, dict[str, Any]]], settings: dict[str, str]) -> tuple[Any, Any]:
    """The sink owner and, when the pipeline calls a remote provider, the shared rate-limit schedule; both on
    the driver's node (which outlives worker nodes) and restarted if they die."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from ingest.executors.owner import SinkOwner
    from ingest.executors.schedule import SharedSchedule

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
    options = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": -1, "scheduling_strategy": here}
    owner = ray.remote(SinkOwner).options(name=_name("sink", job_id), **options).remote(
        config.dest, config.index, settings=settings)
    limiter = None
    if any(service not in LOCAL_SERVICES for service, _ in endpoints):
        limiter = ray.remote(SharedSchedule).options(name=_name("ratelimit", job_id), **options).remote()
    ray.get(owner.__ray_ready__.remote())
    return owner, limiter


def _finish(ray: Any, owner: Any, completed: bool) -> None:
    """Leave load mode even when the job failed (as the single-process runner does); a failure to do so
    fails a completed job and is ignored for a job that already failed."""
    try:
        ray.get(owner.finish.remote(completed), timeout=300)
    except Exception:
        if completed:
            raise


def _stop_actors(ray: Any, owner: Any, limiter: Any) -> None:
    if owner is not None:
        with contextlib.suppress(Exception):
            ray.get(owner.close.remote(), timeout=60)
        ray.kill(owner)
    if limiter is not None:
        ray.kill(limiter)
