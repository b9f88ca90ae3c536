"""End-to-end acknowledgements: a source position is committed only when every document before it is done.

Each source batch gets a sequence number and a count of outstanding documents; senders (and the dead-letter
path) call :meth:`AckTracker.done`. When the oldest batches are complete, the newest position among them is
committed, so a checkpoint never runs ahead of the sink. The counts committed with it are those of the
committed batches only, so a resumed job's totals are exact.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.jobs.faults import fault


@dataclass
class _Pending:
    position: dict[str, Any]
    outstanding: int
    sealed: bool = False  # every document of the batch has been handed on
    indexed: int = 0
    failed: int = 0
    dropped: int = 0


class AckTracker:
    """Track outstanding documents per source batch; call ``commit(position, totals)`` in order."""

    def __init__(
        self, commit: Callable[[dict[str, Any], dict[str, int]], None], totals: dict[str, int] | None = None
    ) -> None:
        self._commit = commit
        self.totals = {"read": 0, "indexed": 0, "failed": 0, "dropped": 0, **(totals or {})}
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._rows: dict[int, int] = {}
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def open(self, seq: int, position: dict[str, Any], rows: int) -> None:
        """A batch of ``rows`` documents was read."""
        with self._lock:
            self._pending[seq] = _Pending(position, 0)
            self._rows[seq] = rows

    def add(self, seq: int, n: int) -> None:
        """``n`` more documents of batch ``seq`` are on their way to the sink."""
        with self._lock:
            self._pending[seq].outstanding += n

    def seal(self, seq: int, *, failed: int = 0, dropped: int = 0) -> None:
        """No more documents will be added to batch ``seq``; ``failed``/``dropped`` never reached the sink."""
        with self._lock:
            pending = self._pending[seq]
            pending.sealed = True
            pending.failed += failed
            pending.dropped += dropped
        self._advance()

    def done(self, seq: int, *, indexed: int = 0, failed: int = 0) -> None:
        """Documents of batch ``seq`` were acknowledged by the sink, or dead-lettered after the write."""
        with self._lock:
            pending = self._pending[seq]
            pending.outstanding -= indexed + failed
            pending.indexed += indexed
            pending.failed += failed
        self._advance()

    def outstanding_batches(self) -> int:
        """Batches not yet committed."""
        with self._lock:
            return len(self._pending)

    def _advance(self) -> None:
        # The commit lock keeps commits in order when two senders finish at once.
        with self._commit_lock:
            position = None
            with self._lock:
                while self._pending:
                    seq, head = next(iter(self._pending.items()))
                    if not head.sealed or head.outstanding > 0:
                        break
                    position = head.position
                    self._pending.popitem(last=False)
                    self.totals["read"] += self._rows.pop(seq, 0)
                    self.totals["indexed"] += head.indexed
                    self.totals["failed"] += head.failed
                    self.totals["dropped"] += head.dropped
                totals = dict(self.totals)
            if position is not None:
                fault("acked")
                self._commit(position, totals)
                fault("checkpoint")
