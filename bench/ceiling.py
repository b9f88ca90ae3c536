"""The arithmetic ceiling: FLOPs per token of an encoder, and the machine's GEMM rate measured on onnxruntime.

FLOPs per token count the matrix multiplications (2 per multiply-add): per layer 4·H² (Q, K, V, output) +
2·H·F (feed-forward) weights, plus 2·S·H for attention scores and weighted values; a SPLADE head adds its
transform H² and the vocabulary projection H·V. For multilingual-e5-small (H 384, F 1536, 12 layers) this
gives 45 / 47 / 52 M at S = 128 / 256 / 512, the figures of ../shared/reference/performance.md.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

from ingest.models.runtime.session import open_session


def flops_per_token(hidden: int, ffn: int, layers: int, seq_len: float, vocab_head: int = 0) -> float:
    """Multiply-add FLOPs for one token at sequence length ``seq_len``."""
    per_layer = 2 * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * seq_len * hidden
    head = 2 * (hidden * hidden + hidden * vocab_head) if vocab_head else 0
    return layers * per_layer + head


def corpus_flops(lengths: Sequence[int], hidden: int, ffn: int, layers: int, vocab_head: int = 0) -> float:
    """Total useful FLOPs for texts of these token lengths (each attends over its own length only)."""
    return float(sum(n * flops_per_token(hidden, ffn, layers, n, vocab_head) for n in lengths))


def _matmul_model(m: int, k: int, n: int) -> bytes:
    rng = np.random.default_rng(0)
    weight = helper.make_tensor("W", TensorProto.FLOAT, [k, n], rng.standard_normal((k, n)).astype(np.float32).ravel())
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "gemm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def gemm_gflops(threads: int, *, m: int = 4096, k: int = 384, n: int = 1536, reps: int = 7) -> float:
    """Median fp32 GEMM rate (GFLOP/s) of onnxruntime's MatMul at an encoder's feed-forward shape."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gemm.onnx"
        onnx.save_model(onnx.load_from_string(_matmul_model(m, k, n)), path)
        session = open_session(path, threads, spin=True)
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    session.run(None, {"X": x})  # warm-up: thread pool, packed weights
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        session.run(None, {"X": x})
        times.append(time.perf_counter() - start)
    return 2.0 * m * k * n / statistics.median(times) / 1e9
