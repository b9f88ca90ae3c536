"""Split checkpoints of a Ray job: results arrive in input order, so a result of split k means every split
before k is complete; those are committed (with their counts) in order."""

from __future__ import annotations

from typing import Any

from ingest.jobs.checkpoint import Checkpoints
from ingest.jobs.config import JobConfig
from ingest.models.errors import IllegalArgumentException

COUNTS = ("read", "indexed", "failed", "dropped")


def resume_state(state: dict[str, Any] | None, job_id: str) -> tuple[list[str], dict[str, int]]:
    """Splits already done and their totals, from a checkpoint (None: a fresh start)."""
    totals = dict.fromkeys(COUNTS, 0)
    if not state:
        return [], totals
    position = state.get("position") or {}
    if "splits_done" not in position:
        raise IllegalArgumentException(
            f"cannot resume job [{job_id}] with the ray executor: its checkpoint was written by the default "
            "executor; resume it without --executor ray"
        )
    totals.update({k: int(v) for k, v in (state.get("totals") or {}).items() if k in totals})
    return [str(s) for s in position["splits_done"]], totals


class SplitCommitter:
    """Counts per open split; commits complete splits to the job's checkpoint, in order."""

    def __init__(self, checkpoints: Checkpoints, config: JobConfig, done: list[str], totals: dict[str, int],
                 todo: list[str], position: dict[str, Any] | None = None) -> None:
        self.checkpoints, self.config = checkpoints, config
        self.position = position or {}  # kept with the done splits (e.g. the number of slices)
        self.done, self.totals, self.todo = list(done), dict(totals), todo
        self._index = {split: k for k, split in enumerate(todo)}
        self.next = 0  # todo[next] is the first split not committed
        self.open: dict[int, dict[str, int]] = {}

    def result(self, row: dict[str, Any]) -> None:
        """Counts of part of one split; every split before it is complete."""
        k = self._index.get(row["split"])
        if k is None:
            raise RuntimeError(f"a worker returned results for [{row['split']}], which is not a split of this job")
        if k < self.next:
            raise RuntimeError(f"results for split [{row['split']}] arrived after it was committed")
        self.through(k)
        counts = self.open.setdefault(k, dict.fromkeys(COUNTS, 0))
        for key in COUNTS:
            counts[key] += int(row[key])

    def through(self, k: int) -> None:
        """Commit splits ``next .. k-1`` (all of them: ``k = len(todo)``)."""
        if k <= self.next:
            return
        for j in range(self.next, k):
            counts = self.open.pop(j, dict.fromkeys(COUNTS, 0))
            for key in COUNTS:
                self.totals[key] += counts[key]
            self.done.append(self.todo[j])
        self.next = k
        self.save("running")

    def live(self) -> dict[str, int]:
        """Committed plus open counts, for the progress display."""
        live = dict(self.totals)
        for counts in self.open.values():
            for key in COUNTS:
                live[key] += counts[key]
        return live

    def save(self, status: str) -> None:
        """Write the checkpoint."""
        self.checkpoints.commit({"position": {**self.position, "splits_done": self.done}, "totals": self.totals, "status": status,
                                 "executor": "ray", "config": self.config.describe()})
