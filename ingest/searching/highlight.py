"""``highlight`` of a search's hits, as Elasticsearch's unified highlighter shows them (``plain`` accepted).

What is highlighted comes from the query (``match``/``multi_match`` tokens, ``match_phrase`` occurrences within
their ``slop``, ``term``/``terms`` values, ``prefix``, through ``bool`` — not ``must_not`` — and ``nested``);
``require_field_match`` (default true) keeps a field's own terms to it. The unified highlighter's shapes: a
phrase occurrence is one span (``<em>cloud storage</em>``; ``plain`` tags each term), passages are sentences
merged up to ``fragment_size`` characters (a longer sentence cut at the first word end past it), the best
``number_of_fragments`` by Lucene's passage score (BM25 over the passage, earlier passages slightly favoured),
shown in text order (``order: score``: best first); ``number_of_fragments: 0`` highlights the whole value.

``type: semantic`` (and any ``semantic_text`` field queried by a ``semantic`` query) shows the field's best chunks
for the query's embedding, best first, as Elasticsearch 9's semantic highlighter does."""

from __future__ import annotations

import bisect
import fnmatch
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.query.dsl import Query, values_at
from ingest.searching.highlight_spec import encode, tags
from ingest.semantic.query import chunk_text, score_documents

_WORD = re.compile(r"\w+", re.UNICODE)
# Sentence ends as Java's sentence BreakIterator finds them (after [.!?] and the spaces that follow, unless a
# lowercase letter goes on).
_SENTENCE = re.compile(r"[.!?]+[\"')\]]*\s+(?=[^\sa-z]|$)", re.UNICODE)
_K1, _B, _PIVOT = 1.2, 0.75, 87.0  # Lucene's PassageScorer defaults


@dataclass
class Wanted:
    """What to highlight in one field."""

    terms: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    phrases: set[tuple[tuple[str, ...], int]] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # term values: a whole keyword value, or one token of a text
    vectors: list[Any] = field(default_factory=list)  # semantic queries' embeddings

    def merge(self, other: Wanted) -> None:
        """Add another field's wants (``require_field_match: false``)."""
        self.terms |= other.terms
        self.prefixes |= other.prefixes
        self.phrases |= other.phrases
        self.values |= other.values


def collect(query: Query, out: dict[str, Wanted], prefix: str = "") -> None:
    """What each field should highlight, from a parsed query (duck-typed on the query nodes' fields)."""
    kind = type(query).__name__
    get = getattr
    if kind == "Bool":
        for clause in (*get(query, "must"), *get(query, "filter"), *get(query, "should")):
            collect(clause, out)
    elif kind in ("ScoredTerm",):
        collect(get(query, "inner"), out)
    elif kind == "Nested" or (hasattr(query, "path") and hasattr(query, "query")):
        collect(get(query, "query"), out)
    elif kind == "MatchPhrase":
        tokens = get(query, "tokens")
        want = out.setdefault(get(query, "field"), Wanted())
        if len(tokens) == 1:
            want.terms.add(tokens[0])
        elif tokens:
            want.phrases.add((tokens, get(query, "slop")))
    elif kind == "Match":
        out.setdefault(get(query, "field"), Wanted()).terms.update(get(query, "tokens"))
    elif kind == "MultiMatch":
        for name, _ in get(query, "fields"):
            out.setdefault(name, Wanted()).terms.update(get(query, "tokens"))
    elif kind == "Terms":
        out.setdefault(get(query, "field"), Wanted()).values.update(str(v) for v in get(query, "values"))
    elif kind == "Prefix":
        out.setdefault(get(query, "field"), Wanted()).prefixes.add(str(get(query, "value")).lower())
    elif kind == "Semantic" and get(query, "vector") is not None:
        out.setdefault(get(query, "field"), Wanted()).vectors.append(get(query, "vector"))


def _no_match(values: list[str], options: dict[str, Any]) -> list[str]:
    """``no_match_size``: the start of the first value, cut at a word boundary, when nothing matched."""
    size = int(options.get("no_match_size", 0))
    if size <= 0 or not values:
        return []
    text = values[0]
    if len(text) > size:  # Elasticsearch extends the cut to the next word boundary
        text = text[: _Scanner(text, size).word_after(size)]
    return [encode(text.strip(), options)]


def _field_specs(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    fields = spec["fields"]
    items = fields if isinstance(fields, list) else [fields]
    return [(name, options or {}) for item in items for name, options in item.items()]


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not prefix and key == "_inference_fields":
                continue
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list) and any(isinstance(v, dict) for v in node):
        for item in node:
            yield from _leaves(item, prefix)
    elif isinstance(node, (str, list)):
        values = [v for v in (node if isinstance(node, list) else [node]) if isinstance(v, str)]
        if values:
            yield prefix, values


def highlight(spec: dict[str, Any], query: Query | None, source: dict[str, Any],
              semantic: frozenset[str] = frozenset(), parse: Callable[[Any], Query] | None = None
              ) -> dict[str, list[str]]:
    """The ``highlight`` object of one hit (fields without a highlight left out); ``semantic`` names the
    hit's index's ``semantic_text`` fields; ``parse`` parses a ``highlight_query``."""
    wanted: dict[str, Wanted] = {}
    if query is not None:
        collect(query, wanted)
    everything = Wanted()
    for w in wanted.values():
        everything.merge(w)
    out: dict[str, list[str]] = {}
    paths = dict(_leaves(source))
    for pattern, own in _field_specs(spec):
        options = {**{k: v for k, v in spec.items() if k != "fields"}, **own}
        names = [pattern] if "*" not in pattern else [p for p in paths if fnmatch.fnmatchcase(p, pattern)]
        own_wants: dict[str, Wanted] | None = None
        if options.get("highlight_query") is not None and parse is not None:
            own_wants = {}
            collect(parse(options["highlight_query"]), own_wants)
        for name in names:
            want = (own_wants if own_wants is not None else wanted).get(name, Wanted())
            if options.get("type") == "semantic" or (name in semantic and want.vectors):
                fragments = _semantic(source, name, want.vectors, options)
            else:
                if options.get("require_field_match", True) is False:
                    want = Wanted(set(everything.terms), set(everything.prefixes), set(everything.phrases),
                                  set(everything.values))
                values = paths.get(name) or [v for v in values_at(source, name) if isinstance(v, str)]
                fragments = _fragments(values, want, options) or _no_match(values, options)
            if fragments:
                out[name] = fragments
    return out


def _semantic(source: dict[str, Any], name: str, vectors: list[Any], options: dict[str, Any]) -> list[str]:
    if not vectors:
        return []
    count = int(options.get("number_of_fragments", 5))

    @dataclass(frozen=True)
    class _Doc:
        id: str
        source: dict[str, Any]

    hits = score_documents([_Doc("", source)], name, vectors[0])
    ranked = hits[0].ranked if hits else ()
    return [chunk_text(source, name, start, end) for _, start, end in (ranked[:count] if count else ranked)]


def _spans(text: str, want: Wanted, merge_phrases: bool) -> list[tuple[int, int]]:
    words = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    spans: set[tuple[int, int]] = set()
    if text in want.values:
        return [(0, len(text))]
    for token, start, end in words:
        if token in want.terms or token in want.values or any(token.startswith(p) for p in want.prefixes):
            spans.add((start, end))
    for tokens, slop in want.phrases:
        for i in range(len(words)):
            if words[i][0] not in tokens:
                continue
            window = words[i:i + len(tokens) + slop]
            found: list[int] = []
            for t in tokens:
                at = next((j for j, w in enumerate(window) if w[0] == t and j not in found), None)
                if at is None:
                    break
                found.append(at)
            else:
                if max(found) - min(found) - (len(tokens) - 1) > slop or min(found) != 0 or (
                        slop == 0 and found != list(range(len(tokens)))):
                    continue
                if merge_phrases:
                    spans.add((window[0][1], window[max(found)][2]))
                else:
                    spans.update((window[j][1], window[j][2]) for j in found)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:  # overlapping spans (a phrase over its own terms) become one
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _tag(text: str, spans: list[tuple[int, int]], pre: str, post: str,
         encode: Callable[[str], str] = str) -> str:
    out, last = [], 0
    for start, end in spans:
        out += [encode(text[last:start]), pre, encode(text[start:end]), post]
        last = end
    return "".join([*out, encode(text[last:])])


def _fragments(values: list[str], want: Wanted, options: dict[str, Any]) -> list[str]:
    pre, post = tags(options)
    shown = functools.partial(encode, options=options)
    size = int(options.get("fragment_size", 100))
    count = int(options.get("number_of_fragments", 5))
    # Elasticsearch's unified highlighter uses Lucene's weight matches (a phrase is one span; every match counts
    # once) unless require_field_match is false; then each term is its own match with its document frequency
    weighted = options.get("type") != "plain" and options.get("require_field_match", True) is not False
    passages: list[tuple[float, int, str]] = []
    for n, text in enumerate(values):
        spans = _spans(text, want, merge_phrases=weighted)
        freq: dict[str, int] = {}
        for s, e in spans:
            freq[text[s:e].lower()] = 1 if weighted else freq.get(text[s:e].lower(), 0) + 1
        if not spans:
            continue
        if count == 0:
            passages.append((0.0, n, _tag(text, spans, pre, post, shown)))
            continue
        for start, end in _passages(text, spans, size):
            inside = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
            score = _passage_score(text, start, end, inside, freq)
            passages.append((score, n * 10**9 + start, _tag(text[start:end], inside, pre, post, shown)
                             .strip()))
    if count == 0:
        return [p for _, _, p in passages]
    best = sorted(passages, key=lambda p: (-p[0], -p[1]))[:count]  # a tie keeps the later passage, as Lucene
    if options.get("order") != "score":
        best.sort(key=lambda p: p[1])
    return [p for _, _, p in best]


def _boundaries(text: str, pattern: re.Pattern[str]) -> list[int]:
    return sorted({0, len(text), *(m.end() for m in pattern.finditer(text))})


def _before(points: list[int], offset: int) -> int:
    """Java's ``BreakIterator.preceding``: the last boundary before ``offset`` (-1: none)."""
    i = bisect.bisect_left(points, offset)
    return points[i - 1] if i > 0 else -1


def _after(points: list[int], offset: int) -> int:
    """Java's ``BreakIterator.following``: the first boundary after ``offset`` (the end when none)."""
    i = bisect.bisect_right(points, offset)
    return points[i] if i < len(points) else points[-1]


class _Scanner:
    """Elasticsearch's ``BoundedBreakIteratorScanner``: sentence passages of at most ``size`` characters; a
    longer sentence is cut at word boundaries around the match. Called with increasing offsets."""

    def __init__(self, text: str, size: int) -> None:
        self.text = text
        self.sentences = _boundaries(text, _SENTENCE)
        self.size, self.length = size, len(text)
        self.window = (-1, -1)
        self.inner = (-1, 0)

    def _word_edge(self, p: int) -> bool:
        """A word boundary (Java's word BreakIterator): around every word, space run and other character."""
        if p <= 0 or p >= self.length:
            return True
        a, b = self.text[p - 1], self.text[p]
        kind_a = "w" if a.isalnum() or a == "_" else "s" if a.isspace() else "o"
        kind_b = "w" if b.isalnum() or b == "_" else "s" if b.isspace() else "o"
        return kind_a != kind_b or kind_a == "o"

    def word_before(self, offset: int) -> int:
        """The last word boundary before ``offset``."""
        p = offset - 1
        while p > 0 and not self._word_edge(p):
            p -= 1
        return max(p, 0)

    def word_after(self, offset: int) -> int:
        """The first word boundary after ``offset`` (the end when none)."""
        p = offset + 1
        while p < self.length and not self._word_edge(p):
            p += 1
        return min(p, self.length)

    def passage(self, offset: int) -> tuple[int, int]:
        """The passage around a match starting just before ``offset`` (``preceding(offset)`` + ``following``)."""
        start, end = self.inner
        if self.window[0] < offset < self.window[1]:
            start, end = end, self.window[1]
        else:
            start = max(_before(self.sentences, offset), 0)
            target = offset + max(0, self.size - (offset - start))
            end = self.length if target + 1 > self.length else _before(self.sentences, target + 1)
            if start == end:  # no sentence ends within the size: the sentence's end
                end = _after(self.sentences, target)
            self.window = (start, end)
        if end - start > self.size:
            if offset - self.size > start:
                start = max(start, self.word_before(offset - self.size))
            remaining = max(0, self.size - (offset - start))
            if offset + remaining < self.window[1]:
                end = min(self.window[1], self.word_after(offset + remaining))
        self.inner = (start, end)
        return start, end


def _passages(text: str, spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Lucene's ``FieldHighlighter``: a match past the current passage opens the next one around it."""
    scanner = _Scanner(text, size)
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
            continue
        start, end = scanner.passage(s + (e - s) // 2)  # from the middle of the match, as Lucene
        out.append((max(start, 0), max(min(end, len(text)), e)))
    return out


def _passage_score(text: str, start: int, end: int, inside: list[tuple[int, int]], freq: dict[str, int]) -> float:
    """Lucene's ``PassageScorer``: BM25 over the passage with ``freq`` the matches' frequencies in the value,
    earlier passages slightly favoured."""
    length = end - start
    passage = text[start:end]
    counts: dict[str, int] = {}
    for s, e in inside:
        counts[passage[s:e].lower()] = counts.get(passage[s:e].lower(), 0) + 1
    docs = 1 + len(text) / _PIVOT  # Lucene approximates a document count from the length
    score = 0.0
    for term, tf in counts.items():
        weight = (_K1 + 1) * math.log(1 + (docs + 0.5) / (freq.get(term, 1) + 0.5))
        score += weight * tf / (tf + _K1 * (1 - _B + _B * length / _PIVOT))
    return score * (1 + 1 / math.log(_PIVOT + start))
