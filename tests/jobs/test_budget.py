"""ErrorBudget: the --max-errors rules, on letters alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ingest.deadletter.store import DeadLetter
from ingest.jobs.budget import ErrorBudget, MaxErrors, TooManyErrors, parse_max_errors
from ingest.models.errors import IllegalArgumentException


class _Sink:
    def __init__(self) -> None:
        self.stored: list[DeadLetter] = []

    def add(self, letters: list[DeadLetter]) -> None:
        self.stored += letters


def _letter(i: int, reason: str = "failed to parse field [n] of type [long] in document with id 'ID'") -> DeadLetter:
    return DeadLetter("j", "write", "{}", "document_parsing_exception", reason.replace("ID", f"d{i}"), doc_id=f"d{i}")


def test_parse() -> None:
    assert parse_max_errors(None) == MaxErrors()
    assert parse_max_errors("0") == MaxErrors(count=0)
    assert parse_max_errors("2.5%") == MaxErrors(percent=2.5)
    for bad in ("", "-1", "1.5", "101%", "ten"):
        with pytest.raises(IllegalArgumentException):
            parse_max_errors(bad)


def test_default_stops_after_1000_alike_failures_ids_ignored_and_stores_them_first() -> None:
    sink = _Sink()
    progress = SimpleNamespace(read=5000, indexed=0, dropped=0)
    budget = ErrorBudget(sink, MaxErrors(), progress, "j")
    budget.add([_letter(i) for i in range(999)])
    with pytest.raises(TooManyErrors, match="the first 1000 documents all failed with the same error"):
        budget.add([_letter(999)])
    assert len(sink.stored) == 1000


def test_default_does_not_stop_when_errors_differ_or_something_was_indexed() -> None:
    mixed = ErrorBudget(_Sink(), MaxErrors(), SimpleNamespace(read=5000, indexed=0, dropped=0), "j")
    mixed.add([_letter(0, "another error")] + [_letter(i) for i in range(1, 2000)])
    some_ok = ErrorBudget(_Sink(), MaxErrors(), SimpleNamespace(read=5000, indexed=1, dropped=0), "j")
    some_ok.add([_letter(i) for i in range(2000)])


def test_count_and_percent() -> None:
    counted = ErrorBudget(_Sink(), MaxErrors(count=2), SimpleNamespace(read=10, indexed=0, dropped=0), "j")
    counted.add([_letter(0), _letter(1)])
    with pytest.raises(TooManyErrors, match="3 documents failed, more than --max-errors 2"):
        counted.add([_letter(2)])
    progress = SimpleNamespace(read=50, indexed=0, dropped=0)
    percent = ErrorBudget(_Sink(), MaxErrors(percent=10), progress, "j")
    percent.add([_letter(i) for i in range(20)])  # fewer than 100 read: not judged yet
    with pytest.raises(TooManyErrors, match="20 of 50 documents read"):
        percent.check_final()
