"""Sparse (SPLADE) output → Elasticsearch's ``{token: weight}`` maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def decode_sparse(weights: np.ndarray, vocabulary: Sequence[str]) -> dict[str, float]:
    """Map one vocabulary-sized weight row to ``{token: weight}``, zero weights dropped, heaviest first."""
    nonzero = np.flatnonzero(weights > 0)
    order = nonzero[np.argsort(-weights[nonzero], kind="stable")]
    return {vocabulary[i]: float(weights[i]) for i in order}
