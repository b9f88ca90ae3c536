"""``ingest run --source kafka://… --executor ray``: consumer-group members as Ray actors.

Kafka already is the distribution engine: each actor runs the ordinary job (Kafka source → pipeline → sink) as
one member of the group, and the group splits the partitions between them, rebalancing when one dies (Ray
restarts it, and it rejoins). Exactly-once holds per member as in one process: offsets follow the sink's
acknowledgements and ids are ``topic-partition-offset``. The embedded store has one writing process, so the
members need a cluster destination. SIGTERM/SIGINT on the driver stop every member (drain, commit).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from typing import Any

from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.progress import Reporter, SilentReporter
from ingest.models.errors import IllegalArgumentException
from ingest.models.settings import Settings
from ingest.sources.stoppable import stop_on_signals

_COUNTS = ("read", "indexed", "dropped", "failed", "retried", "requests_retried", "cache_hits", "cache_misses")


class KafkaMember:
    """One group member: the job of one process, inside an actor (``max_concurrency=2`` so ``stop`` can run
    while ``run`` does)."""

    def __init__(self) -> None:
        self.source: Any = None
        self.stopped = False

    def run(self, config: dict[str, Any]) -> dict[str, Any]:
        """Run the job until caught up or stopped; its summary."""
        from ingest.jobs.runner import run_job
        from ingest.sources import open_source
        from ingest.sources.kafka.settings import redact

        job = JobConfig(**config)
        self.source = open_source(job.source, **job.source_options)
        # Checkpoints store the source spec: passwords are replaced (the job id is kept).
        job.job_id, job.source = job.resolved_job_id(), redact(job.source)
        if self.stopped:
            self.source.stop()
        return run_job(job, source=self.source).to_dict()

    def stop(self) -> None:
        """Drain, commit, end the job."""
        self.stopped = True
        if self.source is not None:
            self.source.stop()


class _Members:
    """What the signal handler stops."""

    def __init__(self, actors: list[Any]) -> None:
        self.actors = actors

    def stop(self) -> None:
        for actor in self.actors:
            actor.stop.remote()


def run_members_on_ray(config: JobConfig, *, members: int = 2, address: str | None = None,
                       reporter: Reporter | None = None) -> JobSummary:
    """Start ``members`` actors in the job's consumer group and wait for all of them; their summed summary."""
    import ray

    from ingest.sinks.registry import KINDS, kind_of

    kind = kind_of(config.dest)
    if kind.capabilities.writers != "many":
        many = [k.name for k in KINDS if k.capabilities.writers == "many"]
        raise IllegalArgumentException(
            f"kafka sources on --executor ray need a --dest that many processes may write ({', '.join(many)}): "
            f"the [{kind.name}] destination has one writing process (use the local executor for it)")
    if members < 1:
        raise IllegalArgumentException(f"[concurrency] must be at least 1 member, got [{members}]")
    reporter = reporter or SilentReporter()
    start = time.monotonic()
    env = Settings.from_env().to_env()  # the members rebuild the driver's settings from these
    options: dict[str, Any] = {"namespace": "ingest", "runtime_env": {"env_vars": env}, "log_to_driver": False,
                               "configure_logging": False}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        options["include_dashboard"] = False
    ray.init(address=address, **options)
    # Ray's own typing does not know the actor's methods; the handles are used through .remote() only.
    actor: Any = ray.remote(KafkaMember).options(max_concurrency=2, max_restarts=-1, num_cpus=1)
    actors: list[Any] = [actor.remote() for _ in range(members)]
    try:
        pending = [a.run.remote(asdict(config)) for a in actors]
        results: list[dict[str, Any]] = []
        with stop_on_signals(_Members(actors)):
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
                results += ray.get(done)
                reporter.update({"members": members, "finished": len(results)})
    finally:
        for a in actors:
            ray.kill(a)
    summary = JobSummary(job_id=config.resolved_job_id(), index=config.index,
                         elapsed_s=time.monotonic() - start, completed=all(r["completed"] for r in results))
    for key in _COUNTS:
        setattr(summary, key, sum(int(r.get(key, 0)) for r in results))
    # Each member's own summary (its counts, the partitions the group gave it, its offsets and lag), so a job
    # shows how the group split the work.
    summary.members = [{k: r[k] for k in ("read", "indexed", "dropped", "failed", "completed", "source", "ingest")
                        if k in r} for r in results]
    reporter.finish(summary.to_dict())
    return summary
