"""``--max-errors``: when a job stops instead of dead-lettering everything.

- ``N``: stop once more than N documents have failed (``0``: at the first failure).
- ``P%``: stop once more than P % of the documents read so far have failed (checked from 100 documents on,
  and exactly at the end of the job); ``100%`` never stops.
- not given: stop when the first 1,000 documents all failed with the same error (a misspelt field in a
  pipeline, a wrong endpoint id, a read-only index…), which is a mistake to fix, not data to set aside.

The check wraps the dead-letter store the job writes to, so every stage (read, pipeline, write) is covered.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Protocol

from ingest.deadletter.store import DeadLetter
from ingest.models.errors import ElasticsearchError, IllegalArgumentException

SAME_ERROR_WINDOW = 1000
PERCENT_MIN_DOCS = 100


class TooManyErrors(ElasticsearchError):
    """The job stopped because too many documents failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=400, error_type="too_many_errors_exception")


@dataclass(frozen=True)
class MaxErrors:
    """A parsed ``--max-errors``: a count, a percentage, or None for the default (same-error) rule."""

    count: int | None = None
    percent: float | None = None

    def describe(self) -> str:
        """The setting as the user wrote it."""
        if self.count is not None:
            return str(self.count)
        return f"{self.percent:g}%" if self.percent is not None else "default"


def parse_max_errors(text: str | None) -> MaxErrors:
    """``"100"`` → count, ``"5%"`` / ``"2.5%"`` → percent, None → the default rule."""
    if text is None:
        return MaxErrors()
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if match is None or (not match.group(2) and "." in match.group(1)):
        raise IllegalArgumentException(f"[max_errors] must be a number of documents or a percentage (N or P%), got [{text}]")
    if match.group(2):
        percent = float(match.group(1))
        if percent > 100:
            raise IllegalArgumentException(f"[max_errors] percentage must be between 0% and 100%, got [{text}]")
        return MaxErrors(percent=percent)
    return MaxErrors(count=int(match.group(1)))


class Letters(Protocol):
    """The part of the dead-letter store a job writes with."""

    def add(self, letters: list[DeadLetter]) -> None: ...


class Progress(Protocol):
    """The live counters of the job (``stages.Counters``; read only here)."""

    @property
    def read(self) -> int: ...

    @property
    def indexed(self) -> int: ...

    @property
    def dropped(self) -> int: ...


def _signature(letter: DeadLetter) -> tuple[str, str, str]:
    reason = letter.reason.replace(letter.doc_id, "…") if letter.doc_id else letter.reason
    return letter.stage, letter.error_type, reason


class ErrorBudget:
    """A dead-letter store that raises :class:`TooManyErrors` (after storing) once the budget is spent."""

    def __init__(self, store: Letters, limit: MaxErrors, progress: Progress, job_id: str) -> None:
        self.store, self.limit, self.progress, self.job_id = store, limit, progress, job_id
        self._lock = threading.Lock()
        self.failed = 0
        self._first: tuple[str, str, str] | None = None
        self._all_same = True

    def add(self, letters: list[DeadLetter]) -> None:
        """Store the letters, then check the budget."""
        self.store.add(letters)
        self.count(letters)

    def count(self, letters: list[DeadLetter]) -> None:
        """Check the budget for letters stored elsewhere (the Ray driver stores them before it commits)."""
        with self._lock:
            for letter in letters:
                sig = _signature(letter)
                self._first = self._first or sig
                self._all_same = self._all_same and sig == self._first
            self.failed += len(letters)
            self._check(final=False)

    def check_final(self) -> None:
        """At the end of the job: a percentage is judged on everything processed."""
        with self._lock:
            self._check(final=True)

    def _check(self, *, final: bool) -> None:
        limit, failed = self.limit, self.failed
        # rows read so far: never behind the outcomes (those of the batches in flight come later), exact at the end
        done = max(self.progress.read, failed)
        where = f"they are in the dead-letter store: ingest dead-letter list --job-id {self.job_id}"
        if limit.count is not None and failed > limit.count:
            raise TooManyErrors(f"stopped: {failed} documents failed, more than --max-errors {limit.count}; {where}")
        if limit.percent is not None and failed and (final or done >= PERCENT_MIN_DOCS):
            share = 100.0 * failed / max(done, 1)
            if share > limit.percent:
                raise TooManyErrors(
                    f"stopped: {failed} of {done} documents read ({share:.1f}%) failed, more than --max-errors "
                    f"{limit.describe()}; {where}")
        if (limit.count is None and limit.percent is None and self._all_same and self._first is not None
                and failed >= SAME_ERROR_WINDOW and self.progress.indexed == 0 and self.progress.dropped == 0):
            stage, etype, reason = self._first
            raise TooManyErrors(
                f"stopped: the first {failed} documents all failed with the same error in the {stage} stage "
                f"[{etype}: {reason}]. Fix the cause (e.g. the field names of the pipeline), then replay them "
                f"(ingest dead-letter replay --job-id {self.job_id}) and continue with --resume; or, to set such "
                f"documents aside and go on, pass --max-errors N or P% (e.g. --max-errors 100%). {where}"
            )
