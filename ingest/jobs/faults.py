"""Fault points for the crash tests: ``INGEST_FAULT=point[:n]`` SIGKILLs the process the n-th time it passes.

The check is one dict lookup when the variable is unset; the points name the moments the tests kill at.
"""

from __future__ import annotations

import os
import signal
import threading

from ingest.models.settings import Settings

POINTS = frozenset(
    {
        "read",  # a source batch was read, not yet handed to the pipeline
        "inference",  # inside a call to the model, results not yet returned
        "pipeline",  # the pipeline finished a batch, nothing written yet
        "bulk",  # the sink has written a bulk request; the acknowledgement is not processed
        "acked",  # the sink acknowledged everything up to a position; checkpoint not yet committed
        "checkpoint",  # a checkpoint was just committed
        "deadletter",  # failures were recorded, the batch not yet acknowledged
        "offsets",  # a Kafka source just handed acknowledged offsets to the broker
    }
)

_counts: dict[str, int] = {}
_lock = threading.Lock()


def _target() -> tuple[str, int] | None:
    raw = Settings.from_env().fault  # per call: the crash tests set it for one subprocess
    if not raw:
        return None
    name, _, nth = raw.partition(":")
    return name, int(nth or 1)


def fault(point: str) -> None:
    """Kill this process with SIGKILL if ``INGEST_FAULT`` names this point and its count is reached."""
    target = _target()
    if target is None or target[0] != point:
        return
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        if _counts[point] >= target[1]:
            os.kill(os.getpid(), signal.SIGKILL)
