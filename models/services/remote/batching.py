"""Splitting one call's inputs into provider-sized requests, by count and by an estimated token budget."""

from __future__ import annotations


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of a text's tokens: one per 3 UTF-8 bytes (BPE averages about 4).

    Over-estimating only makes batches smaller; under-estimating would make the provider reject them.
    """
    return len(text.encode()) // 3 + 1


def split(inputs: list[str], max_count: int, max_tokens: int | None = None) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` ranges covering ``inputs``, each within both caps (at least one input each)."""
    ranges: list[tuple[int, int]] = []
    start, tokens = 0, 0
    for i, text in enumerate(inputs):
        cost = estimate_tokens(text) if max_tokens else 0
        full = i - start >= max_count or (max_tokens is not None and tokens + cost > max_tokens)
        if full and i > start:
            ranges.append((start, i))
            start, tokens = i, 0
        tokens += cost
    if start < len(inputs):
        ranges.append((start, len(inputs)))
    return ranges
