"""A deployment's request counters, as the trained-model stats API reports them; all measured, none fixed."""

from __future__ import annotations

import copy
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 60.0  # Elasticsearch's "last minute"


@dataclass
class DeploymentCounters:
    """Cumulative counts plus the completions of the last minute (for throughput and its peak).

    ``peak_throughput_per_minute`` is the largest number of requests completed within any 60 s window so far:
    the rolling count only grows when a request completes, so checking it there finds the maximum.
    """

    inference_count: int = 0
    total_inference_ms: float = 0.0
    error_count: int = 0
    rejected_execution_count: int = 0
    timeout_count: int = 0
    last_access_ms: int | None = None
    peak_queued: int = 0
    peak_throughput_per_minute: int = 0
    recent: deque[tuple[float, float]] = field(default_factory=deque)  # (monotonic end, took ms), last minute

    def record(self, took_ms: float, *, ok: bool, now: float | None = None) -> None:
        """One finished request."""
        now = time.monotonic() if now is None else now
        self.last_access_ms = int(time.time() * 1000)
        if not ok:
            self.error_count += 1
            return
        self.inference_count += 1
        self.total_inference_ms += took_ms
        self.recent.append((now, took_ms))
        self._prune(now)
        self.peak_throughput_per_minute = max(self.peak_throughput_per_minute, len(self.recent))

    def _prune(self, now: float) -> None:
        while self.recent and self.recent[0][0] <= now - WINDOW_S:
            self.recent.popleft()

    def throughput_last_minute(self, now: float | None = None) -> int:
        """Requests completed in the last 60 s."""
        self._prune(time.monotonic() if now is None else now)
        return len(self.recent)

    def average_ms(self) -> float:
        """Mean time per successful request since the start."""
        return self.total_inference_ms / self.inference_count if self.inference_count else 0.0

    def average_ms_last_minute(self, now: float | None = None) -> float:
        """Mean time per request completed in the last 60 s."""
        self._prune(time.monotonic() if now is None else now)
        return sum(ms for _, ms in self.recent) / len(self.recent) if self.recent else 0.0

    def copy(self) -> DeploymentCounters:
        """An independent snapshot."""
        return copy.deepcopy(self)
