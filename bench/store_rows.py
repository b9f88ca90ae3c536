"""Rows, vectors and timing helpers shared by the store benchmarks (``bench.store_options``)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

DIMS = 384
SOURCE = {"title": "Lorem ipsum", "text": "word " * 40, "tags": ["a", "b"], "n": 1}


def source_json(i: int) -> str:
    """A ~300-byte ``_source`` like a small log or abstract record."""
    return json.dumps({**SOURCE, "n": i}, separators=(",", ":"))


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vector_column(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """An Arrow ``FixedSizeList<float32>[dims]`` column from a 2-D array."""
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])


def batch(start: int, count: int, *, with_vectors: bool, seed: int = 0) -> pa.Table:
    """Rows ``doc-{start}`` … in the embedded store's layout: _id, _version, _source (+ vec)."""
    cols: dict[str, pa.Array] = {
        "_id": pa.array([f"doc-{i}" for i in range(start, start + count)], pa.string()),
        "_version": pa.array(np.ones(count, dtype=np.int64)),
        "_source": pa.array([source_json(i) for i in range(start, start + count)], pa.string()),
    }
    if with_vectors:
        rng = np.random.default_rng(seed + start)
        cols["vec"] = vector_column(unit(rng.standard_normal((count, DIMS))))
    return pa.table(cols)


def update_batch(size: int, existing: int, step: int, *, with_vectors: bool) -> pa.Table:
    """A ``_bulk``-like batch: half ids already stored (spread over the table), half new."""
    half = size // 2
    old = [int(x) for x in np.linspace(0, existing - 1, half)]
    ids = [f"doc-{i}" for i in old] + [f"doc-{existing + step * size + j}" for j in range(size - half)]
    table = batch(0, size, with_vectors=with_vectors, seed=step)
    return table.set_column(0, "_id", pa.array(ids, pa.string()))


def clustered(n: int, *, centres: np.ndarray | None = None, clusters: int = 1000, noise: float = 0.6,
              seed: int = 7) -> np.ndarray:
    """``n`` unit vectors around ``centres`` (default: random ones); noise is relative to a unit centre.

    Given real E5 document vectors as centres, the set keeps E5's anisotropy (all vectors in a narrow cone),
    which is what makes graph indexes harder than on isotropic random data.
    """
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = unit(rng.standard_normal((clusters, DIMS)))
    pick = rng.integers(0, len(centres), n)
    spread = noise / np.sqrt(centres.shape[1])
    return unit(centres[pick] + rng.standard_normal((n, centres.shape[1])).astype(np.float32) * spread)


def load_e5(folder: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(SciFact document vectors, query vectors) from ``folder``: ``scifact_queries.npy`` and either
    ``scifact_docs.npy`` or the chunk files ``bench.retrieval`` caches (``*-256.npy``, possibly a prefix)."""
    if folder is None or not (folder / "scifact_queries.npy").exists():
        return None
    if (folder / "scifact_docs.npy").exists():
        docs = np.load(folder / "scifact_docs.npy")
    else:
        chunks = sorted(folder.rglob("[0-9]*-256.npy"))
        if not chunks:
            return None
        docs = np.concatenate([np.load(c) for c in chunks])
    return unit(docs), unit(np.load(folder / "scifact_queries.npy"))


def exact_top(data: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Row numbers of the exact top ``k`` by cosine (unit vectors) per query, optionally among ``mask``."""
    scores = queries @ data.T
    if mask is not None:
        scores[:, ~mask] = -np.inf
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    """Mean fraction of the exact top-k found."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]))


def timed(run: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    """Milliseconds, compact."""
    return f"{seconds * 1000:.1f} ms"


def med(values: list[float]) -> float:
    """Median."""
    return statistics.median(values)
