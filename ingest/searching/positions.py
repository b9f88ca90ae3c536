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


class _Phrase:
    """One phrase term's positions in a document, shifted by its offset in the phrase (Lucene's
    ``PhrasePositions``: ``position = term position - offset``)."""

    __slots__ = ("cursor", "group", "offset", "positions", "rank")

    def __init__(self, positions: list[int], offset: int) -> None:
        self.positions, self.cursor, self.offset = positions, 0, offset
        self.group: list[_Phrase] | None = None  # the phrase terms with the same term (repeats), by offset
        self.rank = 0  # its index in ``group``

    @property
    def position(self) -> int:
        return self.positions[self.cursor] - self.offset

    def next_position(self) -> bool:
        self.cursor += 1
        return self.cursor < len(self.positions)


def sloppy_freq(positions: Sequence[Sequence[int]], slop: int, terms: Sequence[str] | None = None) -> float:
    """Lucene's sloppy phrase frequency: each term's positions are shifted by its offset in the phrase, and a match
    is a window where the shifted positions span at most ``slop``; it counts ``1 / (1 + span)``.

    The sweep is Lucene's ``SloppyPhraseMatcher``: pop the lowest term, advance it while it stays at or below the
    next lowest (shrinking the span), then count the window if it is within ``slop``. A term repeated in the
    phrase (``terms`` says which) never sits at the same document position twice: the lesser of two colliding
    repeats moves on, as Lucene's ``advanceRpts`` does."""
    lists = [sorted(p) for p in positions]
    if any(not p for p in lists):
        return 0.0
    if slop <= 0:
        return exact_freq(lists)
    pps = [_Phrase(p, i) for i, p in enumerate(lists)]
    names = list(terms) if terms is not None else [str(i) for i in range(len(pps))]
    for name in set(names):
        group = [pp for pp, n in zip(pps, names, strict=True) if n == name]
        if len(group) > 1:
            for rank, pp in enumerate(group):
                pp.group, pp.rank = group, rank
                for _ in range(rank):  # the k-th repeat starts at the term's k-th position
                    if not pp.next_position():
                        return 0.0
    end = max(pp.position for pp in pps)
    queue = [(pp.position, pp.offset, pp) for pp in pps]
    heapq.heapify(queue)
    freq = 0.0

    def advance(pp: _Phrase) -> bool:
        nonlocal end
        if not pp.next_position():
            return False
        end = max(end, pp.position)
        return True

    def resolve(pp: _Phrase, popped: _Phrase) -> bool:
        """Lucene's ``advanceRpts``: move repeats off each other's document position; re-queue the moved."""
        if pp.group is None:
            return True
        moved = False
        while True:
            other = next((q for q in pp.group if q is not pp and q.positions[q.cursor] == pp.positions[pp.cursor]),
                         None)
            if other is None:
                break
            pp = pp if (pp.position, pp.offset) < (other.position, other.offset) else other
            if not advance(pp):
                return False
            moved = moved or pp is not popped
        if moved:
            queue[:] = [(q.position, q.offset, q) for _, _, q in queue]
            heapq.heapify(queue)
        return True

    _, _, pp = heapq.heappop(queue)
    length = end - pp.position
    nxt = queue[0][0] if queue else pp.position
    while advance(pp):
        if not resolve(pp, pp):
            break
        if pp.position > nxt:  # done minimizing this window's span
            heapq.heappush(queue, (pp.position, pp.offset, pp))
            if length <= slop:
                freq += 1.0 / (1 + length)
            _, _, pp = heapq.heappop(queue)
            nxt = queue[0][0] if queue else pp.position
            length = end - pp.position
        else:
            length = min(length, end - pp.position)
    if length <= slop:
        freq += 1.0 / (1 + length)
    return freq


def phrase_freq(positions: Sequence[Sequence[int]], slop: int = 0, terms: Sequence[str] | None = None) -> float:
    """The phrase frequency of one document: exact for ``slop`` 0, sloppy otherwise (``terms``: the phrase's
    terms, to find repeats)."""
    if not positions or any(not p for p in positions):
        return 0.0
    return exact_freq(positions) if slop <= 0 else sloppy_freq(positions, slop, terms)
