"""Text → token ids for one model: input checks, E5 prefixes, truncation at the model's max tokens.

Documented behaviour for awkward input (tested in tests/runtime/test_bad_input.py):
- a value that is not a string is an ``illegal_argument_exception`` naming its position and type;
- an empty or whitespace-only string is encoded like any other text (the model sees only its special tokens
  and the prefix), as Elasticsearch does — one result per input, never a silent skip;
- lone UTF-16 surrogates (which JSON can carry but UTF-8 cannot) become U+FFFD; a surrogate pair split into
  two code points is joined back into its character;
- text longer than the model's ``max_tokens`` is truncated at the end (``is_truncated`` is reported for sparse
  models). Only the first ``max_tokens × CHARS_PER_TOKEN_CAP`` characters are tokenised at all, so a 1 MB
  input costs milliseconds, not seconds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from ingest.models.catalogue import ModelSpec
from ingest.models.errors import ActionRequestValidationException, IllegalArgumentException, ModelError
from ingest.models.results import InputType

# No real token spans more characters than this; normalisers that delete characters (control chars, runs of
# whitespace) are the only way past it, and then only for pathological text.
CHARS_PER_TOKEN_CAP = 64

# tokenizers' Rust thread pool would compete with onnxruntime's threads for the same 2 cores; tokenising is
# orders of magnitude cheaper than the forward pass, so it runs on the calling thread. Set before the
# pool is first used; a user's explicit setting wins.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Elasticsearch's internal_* variants are what semantic_text sends; they select the same prefixes.
_INPUT_TYPES = {t.value: t for t in InputType} | {
    "internal_search": InputType.SEARCH,
    "internal_ingest": InputType.INGEST,
}


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text, ready to batch."""

    ids: list[int]
    truncated: bool
    type_ids: list[int] | None = None  # segment ids of a (query, text) pair; None for single texts


def clean_text(value: object, position: int) -> str:
    """Check one input and make it encodable (see the module docstring for the rules)."""
    if not isinstance(value, str):
        raise IllegalArgumentException(
            f"input [{position}] must be a string but was [{type(value).__name__}]"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # surrogatepass keeps valid pairs together on the way into UTF-16; "replace" turns lone halves into U+FFFD
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def prefix_for(spec: ModelSpec, input_type: InputType | str | None) -> str:
    """The prefix a model wants for this input type (E5: ``query: `` for search, ``passage: `` for ingest)."""
    if input_type is None:
        return ""
    kind = _INPUT_TYPES.get(str(input_type).lower())
    if kind is None:
        allowed = ", ".join(t.value for t in InputType)
        raise ActionRequestValidationException([f"Field [input_type] must be one of [{allowed}], got [{input_type}]"])
    if kind == InputType.SEARCH:
        return spec.query_prefix
    if kind == InputType.INGEST:
        return spec.passage_prefix
    return ""


class TextEncoder:
    """A model's tokenizer configured for inference. Read-only after construction, so safe across threads."""

    def __init__(self, tokenizer_path: Path, spec: ModelSpec) -> None:
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises a bare Exception for unreadable JSON
            raise ModelError(
                f"Could not load the tokenizer of model [{spec.model_id}] from [{tokenizer_path}]: {exc}. "
                f"Rebuild it with `ingest models build {spec.model_id}`."
            ) from exc
        tokenizer.no_padding()  # padding is per batch (dynamic), done by the runtime
        tokenizer.enable_truncation(max_length=spec.max_tokens)
        self._tokenizer = tokenizer
        # A second, untruncated copy answers count_tokens (truncation is part of the tokenizer's state).
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        # Pairs (rerank) are cut from the longer side first, as the sentence-transformers CrossEncoder does.
        self._pairs = Tokenizer.from_str(tokenizer.to_str())
        self._pairs.enable_truncation(max_length=spec.max_tokens, strategy="longest_first")
        self.spec = spec
        self.max_chars = spec.max_tokens * CHARS_PER_TOKEN_CAP
        self.pad_id = self._find_pad_id()
        self.vocabulary: list[str] = self._vocabulary()

    def _find_pad_id(self) -> int:
        for token in ("<pad>", "[PAD]"):
            found = self._tokenizer.token_to_id(token)
            if found is not None:
                return int(found)
        return 0  # padded positions are masked out, so any id works

    def _vocabulary(self) -> list[str]:
        size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        # id_to_token may return None for ids missing from a hand-made vocabulary; keep positions aligned.
        return [self._tokenizer.id_to_token(i) or f"[unused{i}]" for i in range(size)]

    def encode(self, texts: Sequence[object], input_type: InputType | str | None = None) -> list[Encoded]:
        """Check, prefix, cap and tokenise ``texts``; one :class:`Encoded` per text, in order."""
        prefix = prefix_for(self.spec, input_type)
        prepared: list[str] = []
        cut: list[bool] = []
        for position, value in enumerate(texts):
            text = clean_text(value, position)
            cut.append(len(text) > self.max_chars)
            prepared.append(prefix + text[: self.max_chars])
        encodings = self._tokenizer.encode_batch(prepared) if prepared else []
        out = []
        for position, (enc, was_cut) in enumerate(zip(encodings, cut, strict=True)):
            truncated = bool(enc.overflowing)
            if was_cut and not truncated:
                # Rare: a long text whose first max_chars characters fit; only the full count can tell.
                full = prefix + clean_text(texts[position], position)
                truncated = len(self._counter.encode(full).ids) > self.spec.max_tokens
            out.append(Encoded(list(enc.ids), truncated))
        return out

    def encode_pairs(self, query: object, texts: Sequence[object]) -> list[Encoded]:
        """Tokenise ``(query, text)`` pairs for a cross-encoder: ids, segment ids, truncation at max tokens."""
        q = clean_text(query, 0)[: self.max_chars]
        pairs = [(q, clean_text(v, i)[: self.max_chars]) for i, v in enumerate(texts)]
        encodings = self._pairs.encode_batch(pairs) if pairs else []
        return [Encoded(list(e.ids), bool(e.overflowing), list(e.type_ids)) for e in encodings]

    def count_tokens(self, texts: Sequence[object], input_type: InputType | str | None = None) -> list[int]:
        """Tokens each text would give the model, special tokens and prefix included, before truncation."""
        prefix = prefix_for(self.spec, input_type)
        prepared = [prefix + clean_text(v, i) for i, v in enumerate(texts)]
        return [len(enc.ids) for enc in self._counter.encode_batch(prepared)] if prepared else []
