"""NDJSON on standard input, cut into micro-batches by size and by time.

A batch is emitted when it holds ``batch_size`` documents or when ``max_wait_s`` seconds have passed since its
first line arrived, whichever comes first, so a slow trickle of log lines is still indexed promptly.
Positions count the lines consumed (``{"line": n}``); standard input cannot be rewound, so ``resume_from``
is accepted but a resumed job starts with whatever arrives on the new input.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ingest.models.errors import IllegalArgumentException
from ingest.sources.base import Source, SourceBatch, SourceError
from ingest.sources.rows import parse_line, to_batches

_EOF = object()


class StdinSource(Source):
    """Micro-batches from a binary line stream (``sys.stdin.buffer`` by default)."""

    def __init__(self, *, batch_size: int = 1000, max_wait_s: float = 1.0, stream: Iterable[bytes] | None = None,
                 **_: Any) -> None:
        if batch_size < 1 or max_wait_s <= 0:
            raise IllegalArgumentException("[batch_size] and [max_wait_s] must be positive")
        self.batch_size, self.max_wait_s = batch_size, max_wait_s
        self.stream = stream  # None: standard input, looked up when reading starts

    def _pump(self, lines: queue.Queue[object]) -> None:
        try:
            for raw in self.stream if self.stream is not None else sys.stdin.buffer:
                lines.put(raw)
        finally:
            lines.put(_EOF)

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Micro-batches until end of input."""
        # Bounded: a reader far ahead of the sink stops reading instead of buffering the stream.
        lines: queue.Queue[object] = queue.Queue(maxsize=self.batch_size * 4)
        threading.Thread(target=self._pump, args=(lines,), daemon=True, name="stdin-reader").start()
        line_no = 0
        done = False
        while not done:
            docs: list[dict[str, Any]] = []
            raws: list[bytes] = []
            locs: list[str] = []
            lines_at: list[int] = []
            errors: list[SourceError] = []
            deadline: float | None = None
            while len(docs) < self.batch_size:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = lines.get(timeout=timeout)
                except queue.Empty:
                    break
                if item is _EOF:
                    done = True
                    break
                assert isinstance(item, bytes)
                line_no += 1
                if deadline is None:
                    deadline = time.monotonic() + self.max_wait_s
                parsed = parse_line(item, f"<stdin>:{line_no}")
                if isinstance(parsed, SourceError):
                    errors.append(parsed)
                elif parsed is not None:
                    docs.append(parsed)
                    raws.append(item.rstrip(b"\r\n"))
                    locs.append(f"<stdin>:{line_no}")
                    lines_at.append(line_no)
            if docs or errors:
                runs, bad = to_batches(docs, raws, locs)
                for i, (batch, end) in enumerate(runs):  # one per run of agreeing field types
                    if i < len(runs) - 1:
                        yield SourceBatch(batch, {"line": lines_at[end - 1]})
                    else:
                        yield SourceBatch(batch, {"line": line_no}, errors + bad)
