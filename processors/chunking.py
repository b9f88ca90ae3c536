"""Text chunkers: Elasticsearch's ``chunking_settings`` strategies and OpenSearch's ``text_chunking`` algorithms."""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"\S+")
# A sentence ends at . ! or ? followed by whitespace (what Java's BreakIterator finds for plain prose).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def _words(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def word_chunks(text: str, max_words: int, overlap: int) -> list[tuple[int, int]]:
    """Windows of ``max_words`` words overlapping by ``overlap`` words, as (start, end) char offsets."""
    words = _words(text)
    if len(words) <= max_words:
        return [(0, len(text))]
    step = max(1, max_words - overlap)
    out = []
    for start in range(0, len(words), step):
        window = words[start:start + max_words]
        out.append((window[0][0], window[-1][1]))
        if start + max_words >= len(words):
            break
    return out


def sentence_chunks(text: str, max_words: int, overlap: int) -> list[tuple[int, int]]:
    """Whole sentences packed into chunks of at most ``max_words`` words; with ``overlap`` 1 each chunk after the
    first starts with the previous chunk's last sentence. A sentence longer than the limit is split by words."""
    if len(_words(text)) <= max_words:
        return [(0, len(text))]
    sentences: list[tuple[int, int]] = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        sentences.append((pos, match.start()))
        pos = match.end()
    if pos < len(text):
        sentences.append((pos, len(text)))
    counted = [(s, e, len(_words(text[s:e]))) for s, e in sentences if e > s]
    chunks: list[tuple[int, int]] = []
    current: list[tuple[int, int, int]] = []
    for sentence in counted:
        s, e, n = sentence
        if n > max_words:
            if current:
                chunks.append((current[0][0], current[-1][1]))
                current = []
            chunks.extend((s + a, s + b) for a, b in word_chunks(text[s:e], max_words, 0))
            continue
        if current and sum(c[2] for c in current) + n > max_words:
            chunks.append((current[0][0], current[-1][1]))
            last = current[-1]
            current = [last] if overlap and last[2] + n <= max_words else []
        current.append(sentence)
    if current:
        chunks.append((current[0][0], current[-1][1]))
    return chunks


def chunk_by_settings(text: str, settings: dict[str, Any] | None) -> list[tuple[int, int]]:
    """Chunks for an endpoint's ``chunking_settings`` (None or strategy ``none``: the whole text)."""
    if not settings or settings.get("strategy") == "none":
        return [(0, len(text))]
    size = int(settings.get("max_chunk_size", 250))
    if settings.get("strategy") == "word":
        return word_chunks(text, size, int(settings.get("overlap", min(100, size // 2))))
    return sentence_chunks(text, size, int(settings.get("sentence_overlap", 1)))


def opensearch_chunks(text: str, algorithm: str, options: dict[str, Any]) -> list[str]:
    """OpenSearch ``text_chunking``: fixed_token_length, delimiter or fixed_char_length."""
    limit = int(options.get("max_chunk_limit", 100))
    if algorithm == "delimiter":
        delimiter = options.get("delimiter", "\n\n")
        parts = text.split(delimiter)
        out = [p + delimiter for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    elif algorithm == "fixed_char_length":
        size = int(options.get("char_limit", 2048))
        step = max(1, int(size * (1 - float(options.get("overlap_rate", 0.0)))))
        out = [text[i:i + size] for i in range(0, max(len(text), 1), step)]
        out = [c for k, c in enumerate(out) if k == 0 or (k * step < len(text) and (k - 1) * step + size < len(text))]
    else:
        size = int(options.get("token_limit", 384))
        overlap = int(size * float(options.get("overlap_rate", 0.0)))
        out = [text[s:e] for s, e in word_chunks(text, size, overlap)]
    if limit != -1 and len(out) > limit:
        raise ValueError(f"The number of chunks produced by text_chunking processor has exceeded the allowed "
                         f"maximum of [{limit}]. This limit can be set by changing the [max_chunk_limit] parameter.")
    return out
