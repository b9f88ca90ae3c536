"""Which Kafka offsets may be committed: the bookkeeping between the consumer thread and the job's senders.

Every batch the source emits carries a position ``{"batch": n, "offsets": {"topic:partition": next}}`` — the
offsets after everything read so far, over every partition still owned. The job's acknowledgement tracker
hands a position back (``acknowledged``) only when every document of that batch and of all earlier ones was
acknowledged by the sink or recorded by the dead-letter store, so its offsets are safe to commit. The consumer
thread alone talks to Kafka: it takes the newest acknowledged offsets (``to_commit``) and waits here for the
in-flight batches to drain before a rebalance or a stop.
"""

from __future__ import annotations

import threading
import time
from typing import Any


def key(topic: str, partition: int) -> str:
    """The position's key for a partition (topic names cannot contain ``:``)."""
    return f"{topic}:{partition}"


def split(name: str) -> tuple[str, int]:
    """``topic:partition`` → (topic, partition)."""
    topic, _, partition = name.rpartition(":")
    return topic, int(partition)


class Ledger:
    """Emitted vs acknowledged batches, and the offsets of the newest acknowledged one. Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._emitted = 0
        self._acked = 0
        self._committed = 0  # the newest acknowledged batch whose offsets were handed to Kafka
        self._offsets: dict[str, int] = {}  # running: after every message read so far
        self._acked_offsets: dict[str, int] = {}

    def advance(self, offsets: dict[str, int]) -> dict[str, Any]:
        """Messages up to ``offsets`` (next offset per partition) were read into a new batch: its position."""
        with self._cond:
            self._emitted += 1
            self._offsets.update(offsets)
            return {"batch": self._emitted, "offsets": dict(self._offsets)}

    def forget(self, partitions: list[str]) -> None:
        """Partitions this member no longer owns: later positions leave them out."""
        with self._cond:
            for name in partitions:
                self._offsets.pop(name, None)
                self._acked_offsets.pop(name, None)

    def acknowledged(self, position: dict[str, Any]) -> None:
        """Everything up to ``position`` is in the sink or the dead-letter store."""
        batch = int(position.get("batch", 0))
        with self._cond:
            if batch > self._acked:
                self._acked = batch
                self._acked_offsets = {k: int(v) for k, v in dict(position.get("offsets", {})).items()}
            self._cond.notify_all()

    def in_flight(self) -> int:
        """Batches emitted and not yet acknowledged."""
        with self._cond:
            return self._emitted - self._acked

    def to_commit(self) -> dict[str, int] | None:
        """The acknowledged offsets not yet handed to Kafka (None: nothing new); marks them handed over."""
        with self._cond:
            if self._acked <= self._committed:
                return None
            self._committed = self._acked
            return dict(self._acked_offsets)

    def acknowledged_offsets(self) -> dict[str, int]:
        """The newest acknowledged offsets (for a synchronous commit, whether or not they were sent before)."""
        with self._cond:
            self._committed = self._acked
            return dict(self._acked_offsets)

    def wait_drained(self, timeout_s: float, *, below: int = 1) -> bool:
        """Block until fewer than ``below`` emitted batches are unacknowledged (default: none); False if
        ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._emitted - self._acked >= below:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True
