"""Progress: a rich bar on a terminal, JSON log lines otherwise (so job logs are machine-readable)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol, TextIO


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

    def __init__(self, stream: TextIO | None = None, every_s: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, counts: dict[str, Any]) -> None:
        """Log a progress line when the interval has passed."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        elapsed = now - self._start
        rate = counts.get("read", 0) / elapsed if elapsed > 0 else 0.0
        self._emit({"event": "progress", **counts, "docs_per_s": round(rate, 1)})

    def finish(self, summary: dict[str, Any]) -> None:
        """Log the summary."""
        self._emit({"event": "summary", **summary})

    def _emit(self, body: dict[str, Any]) -> None:
        body = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **body}
        self.stream.write(json.dumps(body) + "\n")
        self.stream.flush()


class RichReporter:
    """A progress bar with docs/s, failures and ETA (when the source knows its size)."""

    def __init__(self, total: int | None = None) -> None:
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
        self._task = self._progress.add_task("ingest", total=total, rate=0.0, failed=0)
        self._start = time.monotonic()
        self._progress.start()

    def update(self, counts: dict[str, Any]) -> None:
        """Advance the bar."""
        elapsed = time.monotonic() - self._start
        read = counts.get("read", 0)
        self._progress.update(
            self._task, completed=read, rate=read / elapsed if elapsed > 0 else 0.0, failed=counts.get("failed", 0)
        )

    def finish(self, summary: dict[str, Any]) -> None:
        """Stop the bar; the CLI prints the summary."""
        self._progress.stop()


def default_reporter(total: int | None = None) -> Reporter:
    """Rich on a terminal, JSON lines otherwise."""
    if sys.stderr.isatty():
        return RichReporter(total)
    return JsonLinesReporter()
