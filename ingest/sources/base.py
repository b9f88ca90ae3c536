"""The source contract: Arrow record batches with a resume position after each one.

A ``position`` is a JSON-able dict, opaque to callers: pass the position of the last batch the sink
acknowledged back as ``resume_from`` and the source continues right after it (no row repeated, none lost).

Rows that cannot be decoded (invalid JSON, invalid UTF-8, a CSV row with the wrong number of fields…) do not
stop the read: they are reported in ``SourceBatch.errors`` of the batch they fall in, with their raw bytes,
so the job runner can dead-letter them. A batch may have zero rows and only errors. The resume position of a
batch covers its errors too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class SourceError:
    """One unreadable record: where it was, its raw bytes (as read), and why it was rejected."""

    location: str  # human-readable, e.g. "data/a.jsonl:17" (1-based line number)
    raw: bytes
    reason: str
    whole_file: bool = False  # the file itself is unreadable (truncated, corrupt): the rest of it is lost

    @property
    def text(self) -> str:
        """The raw record decoded for display/storage (invalid bytes escaped as \\xNN)."""
        return self.raw.decode("utf-8", errors="backslashreplace")


@dataclass
class SourceBatch:
    """A batch of rows plus the position to resume from once it is safely written."""

    batch: pa.RecordBatch
    position: dict[str, Any]
    errors: list[SourceError] = field(default_factory=list)


class Source(ABC):
    """A finite or streaming producer of record batches."""

    # A stream that does not end by itself (Kafka): jobs keep its index out of load mode.
    unbounded: bool = False

    @abstractmethod
    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Yield batches in order, starting after ``resume_from`` (a position from an earlier batch)."""

    def total_rows(self) -> int | None:
        """Number of rows if cheaply known (for progress/ETA), else None."""
        return None

    def estimated_rows(self) -> int | None:
        """A cheap estimate of the number of rows when the exact one is unknown (for the ETA), else None."""
        return None

    def acknowledged(self, position: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Every row up to the batch of ``position`` is in the sink or the dead-letter store (called by the job,
        from any thread, in order). Streams commit their own offsets here (Kafka)."""

    def progress(self) -> dict[str, Any] | None:
        """Live facts for the progress line and the checkpoint (Kafka: partitions, lag), or None."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files / connections / point-in-time contexts. Idempotent."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
