"""The work of one pool actor: a block of source rows → pipeline → bulks → sink, with the runner's own logic.

Each actor is one allocation of the pipeline's local model(s): it builds the pipeline once (the model loads on
first use, with one session of ``num_threads``), then for every block runs ``prepare_batch`` and
``send_chunk`` from ``ingest.jobs.stages`` — the same id assignment, pipeline retries, bulk cutting, per-item
retries and dead-letter decisions as the single-process runner. Dead letters are not written here: they travel
back to the driver with the block's counts (safe from any number of processes and machines), and the driver
records them before it checkpoints the split.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import ray

from ingest.deadletter.store import DeadLetter
from ingest.executors.file_reads import decode
from ingest.executors.splits import SPLIT_COLUMN
from ingest.jobs.acks import AckTracker
from ingest.jobs.bulkitems import Item, Prepared
from ingest.jobs.config import JobConfig
from ingest.jobs.indexmeta import vector_mapping
from ingest.jobs.stages import Counters, prepare_batch, send_chunk
from ingest.models.deployments import DeploymentManager
from ingest.models.deployments.scaling import AllocationPolicy
from ingest.models.settings import Settings
from ingest.sinks.base import BulkAction, ItemResult, Sink
from ingest.sources.files import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    from ingest.processors.runnable import RunnablePipeline

RESULT_SCHEMA = pa.schema([
    ("split", pa.string()), ("read", pa.int64()), ("indexed", pa.int64()), ("failed", pa.int64()),
    ("dropped", pa.int64()), ("retried", pa.int64()), ("requests_retried", pa.int64()),
    ("cache_hits", pa.int64()), ("cache_misses", pa.int64()), ("letters", pa.string()),
    ("unreadable", pa.string()),  # JSON list of the files dead-lettered whole
])


class OneAllocation(DeploymentManager):
    """Inside a pool actor every local deployment has exactly one allocation: the actor *is* the allocation,
    and the pool's size is the endpoint's allocation count."""

    def policy_for(self, endpoint: Any) -> AllocationPolicy:
        """Always one allocation."""
        return AllocationPolicy.fixed(1)


class CollectedLetters:
    """Stands in for the dead-letter store inside a worker: keeps the letters to send back to the driver."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def add(self, letters: list[DeadLetter]) -> None:
        """Keep ``letters``."""
        self.letters.extend(letters)

    def to_json(self) -> str:
        """The letters as a JSON list of constructor arguments."""
        return json.dumps([{k: getattr(d, k) for k in ("job_id", "stage", "content", "error_type", "reason",
                                                       "index", "doc_id", "status", "doc_key")}
                           for d in self.letters])


class OwnerSink:
    """Bulk writes sent to the job's sink owner actor (the embedded store has a single writing process)."""

    # No registry kind: the owner is sent bulk actions (``write``), never Arrow batches (registry.batch_writes).
    kind_name: str | None = None

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """One bulk request, executed by the owner."""
        results: list[ItemResult] = ray.get(self._owner.write.remote(actions))
        return results

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored documents by id, read by the owner (``skip_existing``)."""
        found: dict[str, dict[str, Any]] = ray.get(self._owner.fetch.remote(index, ids))
        return found

    def close(self) -> None:
        """The owner's sink is closed by the driver."""


class IngestBlocks:
    """The ``map_batches`` callable class of the pool."""

    def __init__(self, config: dict[str, Any], owner_name: str, via_owner: bool, limiter_name: str | None,
                 split_column: str = SPLIT_COLUMN, settings: dict[str, str] | None = None) -> None:
        self.config = JobConfig(**config)
        # The driver's settings (``Settings.to_env()``), rebuilt here: this worker's context is the driver's home.
        self.settings = Settings.from_env(settings)
        self.split_column = split_column
        self.job_id = self.config.resolved_job_id()
        self.owner = ray.get_actor(owner_name)
        self.prepared = False
        if limiter_name:
            from ingest.executors.schedule import reserve_through
            from ingest.models.services.remote.ratelimit import set_shared_limiter

            set_shared_limiter(reserve_through(ray.get_actor(limiter_name)))
        self.pipeline: RunnablePipeline | None = None
        self.inference: Any = None
        if self.config.pipeline:
            from ingest.context import AppContext
            from ingest.jobs.cache import CachingInference
            from ingest.jobs.pipelinespec import load_pipeline
            from ingest.models.api import InferenceAPI
            from ingest.models.home import ingest_home
            from ingest.models.store import Store

            api = InferenceAPI(Store(ingest_home(self.settings) / "registry.sqlite"), deployments=OneAllocation())
            context = AppContext(self.settings, api=api)
            self.inference = CachingInference(api, context.embedding_cache() if self.config.skip_unchanged else None)
            self.pipeline, _ = load_pipeline(self.config.pipeline, context.pipelines(self.inference))
        if via_owner:
            self.sink: OwnerSink | Sink = OwnerSink(self.owner)
        else:
            from ingest.context import AppContext

            self.sink = AppContext(self.settings).open_sink(self.config.dest)
        pid_dir = self.settings.ray_pid_dir
        if pid_dir:  # lets the tests find (and kill) the worker processes
            Path(pid_dir).mkdir(parents=True, exist_ok=True)
            (Path(pid_dir) / str(os.getpid())).touch()

    def __call__(self, table: pa.Table) -> pa.Table:
        """Process every split found in ``table`` (usually one); one result row per split run."""
        rows = [self._process(split, part) for split, part in _runs(table, self.split_column)]
        return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)

    def _process(self, split: str, part: pa.Table) -> dict[str, Any]:
        config, counters, letters = self.config, Counters(), CollectedLetters()
        tracker = AckTracker(lambda position, totals: None)  # counts only: the driver commits splits
        hits = getattr(self.inference, "hits", 0)
        misses = getattr(self.inference, "misses", 0)
        part = part.drop_columns([self.split_column])
        # A block can hold a whole file: run the pipeline on slices of --batch-size rows, as the runner does.
        step = int(config.source_options.get("batch_size") or DEFAULT_BATCH_SIZE)
        seq = 0
        for whole, errors in decode(part, split):  # raw lines / error rows of our own readers → batches
            for lo in range(0, max(whole.num_rows, 1), step):
                seq += 1
                batch = whole.slice(lo, step)
                read_errors, errors = errors, []  # with the first slice
                tracker.open(seq, {}, batch.num_rows + len(read_errors))
                prepared = prepare_batch(seq, batch, read_errors, config=config, job_id=self.job_id,
                                         pipeline=self.pipeline, tracker=tracker, deadletters=letters,
                                         counters=counters, stored=self.sink)
                if prepared is None:
                    continue
                for chunk in bulks(prepared, config.bulk_bytes, config.bulk_docs):
                    if not self.prepared:
                        self._prepare_index(chunk)
                    send_chunk(chunk, sink=self.sink, config=config, job_id=self.job_id, tracker=tracker,
                               deadletters=letters, counters=counters)
        totals = tracker.totals
        return {
            "split": split, "read": totals["read"], "indexed": totals["indexed"], "failed": totals["failed"],
            "dropped": totals["dropped"], "retried": counters.retried, "requests_retried": counters.requests_retried,
            "cache_hits": getattr(self.inference, "hits", 0) - hits,
            "cache_misses": getattr(self.inference, "misses", 0) - misses,
            "letters": letters.to_json(),
            "unreadable": json.dumps(counters.unreadable_files),
        }

    def _prepare_index(self, chunk: list[Item]) -> None:
        outputs = self.pipeline.outputs() if self.pipeline is not None else []
        fields = vector_mapping(outputs, [item.action.source or {} for item in chunk[:200]])
        ray.get(self.owner.prepare.remote(fields))
        self.prepared = True


def bulks(prepared: Prepared, limit_bytes: int, limit_docs: int) -> list[list[Item]]:
    """Cut one prepared batch into bulk requests by estimated bytes and document count (as the runner does)."""
    out: list[list[Item]] = []
    lo = size = 0
    for k, s in enumerate(prepared.sizes):
        if k > lo and (size + s > limit_bytes or k - lo >= limit_docs):
            out.append(prepared.items(lo, k))
            lo, size = k, 0
        size += s
    if lo < len(prepared):
        out.append(prepared.items(lo, len(prepared)))
    return out


def _runs(table: pa.Table, column: str) -> list[tuple[str, pa.Table]]:
    """Consecutive rows of the same split (a block normally holds one file's rows; guard against more)."""
    if table.num_rows == 0:
        return []
    paths = table.column(column).to_pylist()
    runs: list[tuple[str, pa.Table]] = []
    start = 0
    for i in range(1, len(paths) + 1):
        if i == len(paths) or paths[i] != paths[start]:
            runs.append((str(paths[start]), table.slice(start, i - start)))
            start = i
    return runs
