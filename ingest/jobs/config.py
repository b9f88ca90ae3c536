"""What a job is asked to do, and what it reports at the end."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_BULK_BYTES = 10 * 1024 * 1024


@dataclass
class JobConfig:
    """Options of ``ingest run``. ``pipeline`` is a stored pipeline id, a JSON/YAML file, a pipeline body
    (``ingest.run_job``), or None (identity)."""

    source: str
    index: str
    dest: str = "embedded"
    pipeline: str | dict[str, Any] | None = None
    id_field: str | None = None
    job_id: str | None = None
    resume: bool = False
    bulk_bytes: int = DEFAULT_BULK_BYTES
    bulk_docs: int = 1000
    senders: int | None = None  # None: 3 where many may write (clusters), else 1 (registry)
    queue_depth: int = 4
    max_retries: int = 10
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    unavailable_timeout_s: float = 300.0  # how long a sink may stay unreachable before the job fails
    linger_s: float = 0.5  # flush a partial bulk after this idle time (streaming sources)
    skip_unchanged: bool = True
    max_errors: str | None = None  # "N" or "P%"; None: stop when the first 1,000 documents fail alike (budget.py)
    source_options: dict[str, Any] = field(default_factory=dict)

    def resolved_job_id(self) -> str:
        """The explicit job id, or one derived from what the job does (so ``--resume`` alone finds it)."""
        if self.job_id:
            return self.job_id
        key = json.dumps([self.source, self.pipeline, self.index, self.dest], sort_keys=True)
        return "job-" + hashlib.sha256(key.encode()).hexdigest()[:12]

    def sender_count(self) -> int:
        """Concurrent bulk senders."""
        if self.senders:
            return max(1, self.senders)
        from ingest.sinks.registry import capabilities

        return 3 if capabilities(self.dest).writers == "many" else 1

    def describe(self) -> dict[str, Any]:
        """JSON-able form stored with the checkpoint."""
        return asdict(self)


@dataclass
class JobSummary:
    """Counts at the end of a job (including what earlier runs of a resumed job acknowledged)."""

    job_id: str
    index: str
    read: int = 0
    indexed: int = 0
    dropped: int = 0
    failed: int = 0
    retried: int = 0  # items sent again after a 429/503 item status
    requests_retried: int = 0  # bulk requests sent again after the sink was unreachable or overloaded
    cache_hits: int = 0
    cache_misses: int = 0
    elapsed_s: float = 0.0
    completed: bool = False
    unreadable_files: list[str] = field(default_factory=list)  # dead-lettered whole, each counted once in failed
    # ``GET /_nodes/stats/ingest``'s ``ingest`` object for this run (total, per pipeline); None without a pipeline
    ingest: dict[str, Any] | None = None
    source: dict[str, Any] | None = None  # what the source reports about itself at the end (Kafka: offsets, lag)
    members: list[dict[str, Any]] | None = None  # one summary per consumer-group member (Kafka on Ray)

    @property
    def dead_lettered(self) -> int:
        """Documents (and whole unreadable files) that went to the dead-letter store: the same as ``failed``."""
        return self.failed

    @property
    def docs_per_s(self) -> float:
        """Documents read per second of this run."""
        return self.read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form printed at the end of ``ingest run``."""
        body = asdict(self)
        body["docs_per_s"] = round(self.docs_per_s, 1)
        body["elapsed_s"] = round(self.elapsed_s, 3)
        for optional in ("ingest", "source", "members"):
            if body[optional] is None:
                del body[optional]  # the shape of jobs that have none stays as it was
        return body
