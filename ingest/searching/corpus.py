"""One index's documents as a search sees them, with the per-field statistics BM25 needs (built on first use
of a field, kept while the documents are unchanged)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.query.dsl import values_at

# Elasticsearch's standard analyzer, approximately: Unicode word runs, lowercased, no stop words (its default).
_WORD = re.compile(r"\w+", re.UNICODE)
# Elasticsearch's position_increment_gap between the values of an array, so a phrase never spans two values.
_GAP = 100


def analyze(text: Any) -> list[str]:
    """The tokens of a value as the standard analyzer makes them (approximately)."""
    return [t.lower() for t in _WORD.findall(str(text))]


@dataclass
class FieldIndex:
    """An inverted index of one field: token → {document ordinal: positions}, and the documents' lengths."""

    postings: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    lengths: dict[int, int] = field(default_factory=dict)

    @property
    def doc_count(self) -> int:
        """Documents with the field (Lucene's ``docCount``)."""
        return len(self.lengths)

    @property
    def avg_length(self) -> float:
        """Average field length (``sumTotalTermFreq / docCount``)."""
        return sum(self.lengths.values()) / len(self.lengths) if self.lengths else 0.0


@dataclass
class Corpus:
    """The documents of one index, in ``_id`` order: ``ids[i]``, ``sources[i]``, ``seq_nos[i]``; ``fingerprint``
    says which versions they are (a cached corpus is reused while it is unchanged); ``ann`` proposes k-NN
    candidates from the store's HNSW side-cars (``vectorindex.Approximate``; None: exact search only)."""

    index: str
    ids: list[str]
    sources: list[dict[str, Any]]
    fingerprint: tuple[Any, ...] = ()
    hints: dict[str, Any] = field(default_factory=dict)
    seq_nos: list[int] = field(default_factory=list)
    ann: Any = None
    _fields: dict[str, FieldIndex] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def field(self, name: str) -> FieldIndex:
        """The inverted index of a field (analyzed), built on first use."""
        if name.endswith(".keyword"):
            name = name[: -len(".keyword")]
        if name not in self._fields:
            self._fields[name] = _build(self.sources, name)
        return self._fields[name]


def _build(sources: Iterable[dict[str, Any]], name: str) -> FieldIndex:
    out = FieldIndex()
    for n, source in enumerate(sources):
        position, length, seen = 0, 0, False
        for value in values_at(source, name):
            if isinstance(value, (dict, list)):
                continue
            seen = True
            for token in analyze(value):
                out.postings.setdefault(token, {}).setdefault(n, []).append(position)
                position += 1
                length += 1
            position += _GAP
        if seen:
            out.lengths[n] = length
    return out


def _vector_at(source: Any, name: str) -> Any:
    """The value at a dotted path, a vector kept whole (``values_at`` flattens lists: a vector's numbers)."""
    if not isinstance(source, dict):
        return None
    if name in source:
        return source[name]
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):  # "a.b" as one key, then "a" → "b"
        head = ".".join(parts[:i])
        if head in source:
            return _vector_at(source[head], ".".join(parts[i:]))
    return None


def vectors(corpus: Corpus, name: str) -> tuple[list[int], Any]:
    """The documents holding a dense vector at ``name`` and the vectors (a float32 matrix, one row each),
    built on first use."""
    import numpy as np

    key = "\0vectors:" + name
    cached = corpus.__dict__.setdefault("_vector_cache", {})
    if key not in cached:
        ordinals: list[int] = []
        rows: list[list[float]] = []
        for n, source in enumerate(corpus.sources):
            value = _vector_at(source, name) if "." in name else source.get(name)
            if isinstance(value, list) and value and all(isinstance(x, (int, float)) for x in value):
                ordinals.append(n)
                rows.append(value)
        matrix = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        cached[key] = (ordinals, matrix)
    result: tuple[list[int], Any] = cached[key]
    return result
