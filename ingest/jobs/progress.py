"""Progress: a rich bar on a terminal, JSON log lines otherwise (so job logs are machine-readable).

Progress counts documents whose outcome is known (``done`` = indexed + failed + dropped, i.e. acknowledged by
the sink or set aside), not rows read: reading runs ahead by a few batches, and while the model embeds a
count of rows read would stand still at the read-ahead limit and then jump. The rate is over the last
``WINDOW_S`` seconds, so a model load at the start does not drag the ETA for the rest of the job.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from typing import Any, Protocol, TextIO

WINDOW_S = 20.0


def done_of(counts: dict[str, Any]) -> int:
    """Documents with a known outcome."""
    return int(counts.get("indexed", 0)) + int(counts.get("failed", 0)) + int(counts.get("dropped", 0))


class Rate:
    """Documents per second over a sliding window, and the ETA to a total."""

    def __init__(self, window_s: float = WINDOW_S, clock: Any = time.monotonic) -> None:
        self.window_s, self.clock = window_s, clock
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int) -> float:
        """Record the count now; the rate over the window (0 until two samples span some time)."""
        now = self.clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    @staticmethod
    def eta_s(done: int, total: int | None, rate: float) -> float | None:
        """Seconds left, when the total is known and documents are moving."""
        if total is None or rate <= 0:
            return None
        return max(0.0, (total - done) / rate)


class Reporter(Protocol):
    """Receives live counts about every few hundred milliseconds, and the summary at the end."""

    def update(self, counts: dict[str, Any]) -> None: ...

    def finish(self, summary: dict[str, Any]) -> None: ...


class SilentReporter:
    """For library use and tests."""

    def update(self, counts: dict[str, Any]) -> None:
        """Ignore."""

    def finish(self, summary: dict[str, Any]) -> None:
        """Ignore."""


class JsonLinesReporter:
    """One JSON object per line on stderr, at most every ``every_s`` seconds."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 2.0, total: int | None = None,
                 estimated: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.total, self.estimated = total, estimated
        self._last = 0.0
        self._rate = Rate()

    def update(self, counts: dict[str, Any]) -> None:
        """Log a progress line when the interval has passed: done (of total), docs/s, ETA."""
        done = done_of(counts)
        rate = self._rate.add(done)
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        eta = Rate.eta_s(done, self.total, rate)
        body: dict[str, Any] = {"event": "progress", **counts, "done": done, "total": self.total}
        if self.estimated:
            body["total_estimated"] = True
        body |= {"docs_per_s": round(rate, 1), "eta_s": None if eta is None else round(eta)}
        self._emit(body)

    def finish(self, summary: dict[str, Any]) -> None:
        """Log the summary."""
        self._emit({"event": "summary", **summary})

    def _emit(self, body: dict[str, Any]) -> None:
        body = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **body}
        self.stream.write(json.dumps(body) + "\n")
        self.stream.flush()


class RichReporter:
    """A progress bar with docs/s, failures and ETA (when the source knows its size)."""

    def __init__(self, total: int | None = None, estimated: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.1f} docs/s"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task("ingest (~total)" if estimated else "ingest", total=total, rate=0.0,
                                             failed=0)
        self._rate = Rate()
        self._progress.start()

    def update(self, counts: dict[str, Any]) -> None:
        """Advance the bar by acknowledged documents."""
        done = done_of(counts)
        self._progress.update(self._task, completed=done, rate=self._rate.add(done), failed=counts.get("failed", 0))

    def finish(self, summary: dict[str, Any]) -> None:
        """Stop the bar; the CLI prints the summary."""
        self._progress.stop()


def default_reporter(total: int | None = None, estimated: bool = False) -> Reporter:
    """Rich on a terminal, JSON lines otherwise; ``total`` (exact or ``estimated``) gives the ETA."""
    if sys.stderr.isatty():
        return RichReporter(total, estimated)
    return JsonLinesReporter(total=total, estimated=estimated)
