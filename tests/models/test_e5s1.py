"""The E5S1 reader, Q4_0 dequantisation, the precompiled charsmap and the E5 tokenizer, on synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tokenizers import normalizers

from ingest.models.convert.charsmap import precompiled_charsmap
from ingest.models.convert.e5s1 import E5S1FormatError, E5S1Vocabulary, dequantize_q4, read_e5s1
from ingest.models.convert.tokenizer import e5_tokenizer


def test_q4_block_layout() -> None:
    """Byte j holds weight j (low nibble) and weight j + 16 (high nibble); weight = (nibble - 8) * scale."""
    scale = np.float16(0.5)
    qs = bytes(((j & 0x0F) | (((15 - j) & 0x0F) << 4)) for j in range(16))
    block = scale.tobytes() + qs
    row = dequantize_q4(block * 2, 1, 64)[0]
    expected_low = [(j - 8) * 0.5 for j in range(16)]
    expected_high = [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(row[:16], expected_low)
    np.testing.assert_array_equal(row[16:32], expected_high)
    np.testing.assert_array_equal(row[32:], row[:32])


def test_rejects_bad_and_truncated_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5S1FormatError, match="bad magic"):
        read_e5s1(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(b"E5S1" + (1).to_bytes(4, "little") + bytes(10))
    with pytest.raises(E5S1FormatError, match="truncated"):
        read_e5s1(truncated)


def test_precompiled_charsmap_applies_the_map_per_codepoint() -> None:
    mapping = {
        ord("Ａ"): "A",  # fullwidth → ASCII
        ord("ﬁ"): "fi",  # one → several
        0x200B: " ",  # zero width space → space
        0x01: "",  # control → deleted
        ord("é"): "é",  # identity entries are allowed
        0x1F600: "smile",  # 4-byte UTF-8 key
    }
    norm = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert norm.normalize_str("xＡ\x01ﬁ\u200bé😀y") == "xAfi ésmiley"
    # Not in the map: unchanged, including a base + combining mark (no string-level NFKC composition).
    assert norm.normalize_str("e\u0301 ß Ω") == "e\u0301 ß Ω"


def _vocab() -> E5S1Vocabulary:
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [
        (p, -float(i + 1)) for i, p in enumerate(["▁", "▁the", "▁cat", "s", "▁c", "at", "a", "t", "h", "e"])
    ]
    return E5S1Vocabulary(pieces, bos=0, eos=2, pad=1, unk=3, norm_map={ord("Ｃ"): "c", 0x07: ""})


def test_e5_tokenizer_pipeline() -> None:
    tok = e5_tokenizer(_vocab())
    enc = tok.encode("the  Ｃat\x07s")
    assert enc.tokens == ["<s>", "▁the", "▁cat", "s", "</s>"]
    # Each unknown character is its own <unk>, as in SentencePiece and the C engine (not fused into one).
    assert tok.encode("the 🦩🦩").ids == [0, 5, 4, 3, 3, 2]
    assert tok.truncation is None and tok.padding is None
    # Mapped per code point, as the C engine does: a combining mark after a mapped character survives (the
    # Precompiled normaliser alone would replace the whole grapheme C + mark by "c"), and nothing is composed.
    assert tok.normalizer is not None
    assert tok.normalizer.normalize_str("Ｃ\u0301 e\u0301  x\x07") == "c\u0301 e\u0301 x"


def test_e5_tokenizer_checks_special_ids() -> None:
    vocab = _vocab()
    swapped = E5S1Vocabulary([vocab.pieces[1], vocab.pieces[0], *vocab.pieces[2:]], 0, 2, 1, 3, {})
    with pytest.raises(ValueError, match="bos id 0"):
        e5_tokenizer(swapped)


def test_charsmap_lookups_never_fail_on_arbitrary_text() -> None:
    """Graphemes longer than one key walk past a leaf: every probe must stay inside the array."""
    mapping = {cp: chr(cp).upper() for cp in range(0x61, 0x7B)} | {
        0xFF21 + i: chr(0x41 + i) for i in range(26)
    }
    norm = normalizers.Precompiled(precompiled_charsmap(mapping))
    rng = np.random.default_rng(3)
    pool = [*map(chr, mapping), "\u0301", "\u0308", "\u200d", "\U0001f3fd", "👍", "\r", "\n", "é", "中"]
    for _ in range(2000):
        text = "".join(rng.choice(pool, size=int(rng.integers(1, 12))))
        assert isinstance(norm.normalize_str(text), str)
