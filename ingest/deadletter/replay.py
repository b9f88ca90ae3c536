"""Replay dead letters: send the stored documents through the job runner again.

Each original job's settings (destination, index, pipeline) come from its checkpoint unless overridden. A
replayed document keeps its original id; what fails again is recorded under ``<job id>-replay``, and the
replayed entries are removed from the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ingest.deadletter.store import DeadLetter, DeadLetterStore
from ingest.jobs.checkpoint import Checkpoints
from ingest.jobs.config import JobConfig
from ingest.jobs.listsource import RowsSource, batches_of
from ingest.jobs.progress import SilentReporter

if TYPE_CHECKING:
    from ingest.context import AppContext


@dataclass
class ReplayReport:
    """What a replay did."""

    replayed: int = 0
    indexed: int = 0
    failed_again: int = 0
    unreadable: int = 0  # raw records that still do not parse as a JSON object: left in the store
    jobs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


def replay(
    store: DeadLetterStore,
    *,
    job_id: str | None = None,
    dest: str | None = None,
    index: str | None = None,
    pipeline: str | None = None,
    context: AppContext | None = None,
) -> ReplayReport:
    """Replay the entries of one job (or all) and remove them from the store; ``context`` (the command's) holds
    the original jobs' checkpoints and runs the replay jobs."""
    from ingest.jobs.runner import run_job

    report = ReplayReport()
    by_job: dict[str, list[DeadLetter]] = {}
    for letter in store.iter(job_id):
        by_job.setdefault(letter.job_id, []).append(letter)
    for original_job, letters in by_job.items():
        docs, ids, taken = [], [], []
        for letter in letters:
            try:
                doc = json.loads(letter.content)
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                report.unreadable += 1
                continue
            if index is None and letter.index and "_index" not in doc:
                # Each document back to its own index: one job (the server's bulk-api) can span several.
                doc = {**doc, "_index": letter.index}
            docs.append(doc)
            ids.append(letter.doc_id)
            taken.append(letter)
        if not docs:
            continue
        checkpoints = context.checkpoints(original_job) if context is not None else Checkpoints(original_job)
        saved = (checkpoints.load() or {}).get("config", {})
        config = JobConfig(
            source=f"dead-letter:{original_job}",
            index=index or letters[0].index or saved.get("index") or "replayed",
            dest=dest or saved.get("dest", "embedded"),
            pipeline=pipeline if pipeline is not None else saved.get("pipeline"),
            job_id=f"{original_job}-replay",
        )
        summary = run_job(config, source=RowsSource(batches_of(docs, ids)), reporter=SilentReporter(),
                          deadletters=store, context=context)
        store.remove([t.seq for t in taken])
        report.replayed += len(taken)
        report.indexed += summary.indexed
        report.failed_again += summary.failed + (len(taken) - summary.read)
        report.jobs.append(config.job_id or "")
    return report
