"""End-to-end acknowledgements: positions are committed in order, only when everything before is done."""

from __future__ import annotations

from typing import Any

from ingest.jobs.acks import AckTracker


def _tracker() -> tuple[AckTracker, list[tuple[dict[str, Any], dict[str, int]]]]:
    commits: list[tuple[dict[str, Any], dict[str, int]]] = []
    return AckTracker(lambda pos, totals: commits.append((pos, totals))), commits


def test_commit_waits_for_every_document_of_earlier_batches() -> None:
    t, commits = _tracker()
    t.open(1, {"p": 1}, 3)
    t.open(2, {"p": 2}, 2)
    t.add(1, 3)
    t.seal(1)
    t.add(2, 2)
    t.seal(2)
    t.done(2, indexed=2)  # the later batch finishes first: nothing may be committed yet
    assert commits == []
    t.done(1, indexed=2)
    assert commits == []
    t.done(1, failed=1)
    assert [c[0] for c in commits] == [{"p": 2}]  # both batches at once, newest position
    assert commits[-1][1] == {"read": 5, "indexed": 4, "failed": 1, "dropped": 0}


def test_unsealed_batch_blocks_commit_even_with_nothing_outstanding() -> None:
    t, commits = _tracker()
    t.open(1, {"p": 1}, 2)
    t.add(1, 1)
    t.done(1, indexed=1)
    assert commits == []  # more documents of batch 1 may still come
    t.seal(1, dropped=1)
    assert commits[-1] == ({"p": 1}, {"read": 2, "indexed": 1, "failed": 0, "dropped": 1})


def test_empty_batch_commits_when_sealed_and_totals_resume() -> None:
    t = AckTracker(lambda p, tot: None, {"read": 10, "indexed": 10})
    t.open(1, {"p": 1}, 0)
    t.seal(1)
    assert t.outstanding_batches() == 0
    assert t.totals["read"] == 10 and t.totals["indexed"] == 10
