"""Phrase frequencies from token positions, as Lucene's phrase matchers count them: ``slop`` 0 counts exact
occurrences (``ExactPhraseMatcher``), a larger ``slop`` sums ``1 / (1 + match length)`` over the sloppy matches
(``SloppyPhraseMatcher``: terms may be apart, or out of order, by at most ``slop`` position moves in total).
``match_phrase`` scores BM25 with this frequency, so its scores follow Elasticsearch's."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def exact_freq(positions: Sequence[Sequence[int]]) -> float:
    """How often the terms occur one after the other (term ``i`` at ``start + i``)."""
    later = [set(p) for p in positions[1:]]
    return float(sum(1 for start in positions[0] if all(start + i + 1 in s for i, s in enumerate(later))))


def sloppy_freq(positions: Sequence[Sequence[int]], slop: int) -> float:
    """Lucene's sloppy phrase frequency: each term's positions are shifted by its offset in the phrase, and a match
    is a window where the shifted positions span at most ``slop``; it counts ``1 / (1 + span)``.

    The sweep is Lucene's ``SloppyPhraseMatcher.nextMatch``: pop the lowest term, advance it while it stays at or
    below the next lowest (shrinking the span), then count the window if it is within ``slop``. A phrase whose terms
    repeat is counted without Lucene's extra rule that repeats sit at different positions."""
    lists = [sorted(p) for p in positions]
    if any(not p for p in lists):
        return 0.0
    if slop <= 0:
        return exact_freq(lists)
    cursor = [0] * len(lists)
    heap = [(p[0] - i, i) for i, p in enumerate(lists)]
    heapq.heapify(heap)
    end = max(pos for pos, _ in heap)
    freq = 0.0

    def advance(i: int) -> int | None:
        nonlocal end
        cursor[i] += 1
        if cursor[i] >= len(lists[i]):
            return None
        pos = lists[i][cursor[i]] - i
        end = max(end, pos)
        return pos

    pos, i = heapq.heappop(heap)
    length = end - pos
    nxt = heap[0][0] if heap else pos
    while True:
        moved = advance(i)
        if moved is None:
            break
        if moved > nxt:  # done minimizing this window's span
            heapq.heappush(heap, (moved, i))
            if length <= slop:
                freq += 1.0 / (1 + length)
            pos, i = heapq.heappop(heap)
            nxt = heap[0][0] if heap else pos
            length = end - pos
        else:
            length = min(length, end - moved)
    if length <= slop:
        freq += 1.0 / (1 + length)
    return freq


def phrase_freq(positions: Sequence[Sequence[int]], slop: int = 0) -> float:
    """The phrase frequency of one document: exact for ``slop`` 0, sloppy otherwise."""
    if not positions or any(not p for p in positions):
        return 0.0
    return exact_freq(positions) if slop <= 0 else sloppy_freq(positions, slop)
