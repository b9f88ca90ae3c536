"""Job checkpoints: one JSON file per job under ``$INGEST_HOME/jobs``, replaced atomically.

A checkpoint holds the source position up to which the sink acknowledged every document (or the dead-letter
store recorded it), plus the counts so far. ``--resume`` reads it and asks the source to continue after it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ingest.models.errors import ResourceNotFoundException
from ingest.models.home import ingest_home, open_private, private_dir


def jobs_dir() -> Path:
    """Folder of the checkpoint files."""
    return private_dir(ingest_home() / "jobs")


class Checkpoints:
    """Read and commit one job's checkpoint."""

    def __init__(self, job_id: str, *, folder: Path | None = None) -> None:
        """``folder``: the context's ``<home>/jobs`` (default: the environment's home)."""
        self.job_id = job_id
        self.path = (private_dir(folder) if folder is not None else jobs_dir()) / f"{job_id}.json"

    def load(self) -> dict[str, Any] | None:
        """The last committed checkpoint, or None."""
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def require(self) -> dict[str, Any]:
        """The checkpoint, or Elasticsearch's not-found error naming the job."""
        state = self.load()
        if state is None:
            raise ResourceNotFoundException(f"no checkpoint for job [{self.job_id}]; nothing to resume")
        return state

    def commit(self, state: dict[str, Any]) -> None:
        """Write durably: temp file, fsync, rename (a kill leaves the old or the new file, never half)."""
        state = {**state, "job_id": self.job_id, "updated": time.time()}
        # Per process: members of one Kafka consumer group may share a job id and $INGEST_HOME.
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with open_private(tmp) as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def clear(self) -> None:
        """Forget the checkpoint (a fresh, non-resumed run)."""
        self.path.unlink(missing_ok=True)


def list_jobs() -> list[dict[str, Any]]:
    """Every job's last checkpoint."""
    out = []
    for path in sorted(jobs_dir().glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out
