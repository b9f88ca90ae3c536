"""onnxruntime session options, set deliberately for small CPU machines.

- ``intra_op_num_threads`` = the model's ``threads`` (1 by default, like one Elasticsearch allocation): the
  only parallelism inside a forward pass. Each matmul is split across these threads.
- ``inter_op_num_threads`` = 1 with sequential execution: an encoder graph is a chain, so a second pool would
  only add threads that fight the first one for the same cores.
- Tokenisation runs on the calling thread (see ``ingest.models.runtime.tokenize``), so ORT + tokenizers + I/O never
  ask for more threads than ``threads`` plus the caller.
- Graph optimisation level ALL: attention / LayerNorm / GELU fusions and layout optimisations.
- ``SkipLayerNormFusion`` is disabled: it fires only on the int8 graphs (bias folded into the quantised MatMul,
  then residual Add + LayerNormalization), and its fused kernel made int8 E5 1.18-1.25x slower (CPU time, 24
  texts, SciFact / mixed); the fp32 graphs are unchanged by it (identical outputs and speed).
- Spinning: idle ORT worker threads busy-wait for the next op by default, which helps a dedicated box and
  hurts a shared one; ``spin`` turns it on for benchmarks that own the machine.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from ingest.models.errors import ModelError

# onnxruntime graph transformers that measured slower than the unfused ops here (see the module docstring).
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


def session_options(threads: int = 1, *, spin: bool = False) -> ort.SessionOptions:
    """The SessionOptions every local model runs with."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.log_severity_level = 3  # errors only: ORT's warnings about unused initialisers are noise here
    return opts


def open_session(onnx_path: Path, threads: int = 1, *, spin: bool = False, model_id: str = "") -> ort.InferenceSession:
    """Load an ONNX file on the CPU provider; a missing or corrupt file is a :class:`ModelError` saying what to do."""
    try:
        return ort.InferenceSession(
            str(onnx_path),
            sess_options=session_options(threads, spin=spin),
            providers=["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )
    except Exception as exc:  # ORT raises its own exception types (Fail, InvalidProtobuf, NoSuchFile...)
        label = f"[{model_id}] " if model_id else ""
        hint = f" Rebuild it with `ingest models build {model_id}`." if model_id else ""
        raise ModelError(f"Could not load model {label}from [{onnx_path}]: {exc}.{hint}") from exc
