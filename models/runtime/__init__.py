"""Local model runtime: tokenise, batch by length under a token budget, run on onnxruntime, pool, decode.

``load_model`` is the entry point: it resolves an id (built-in or imported), builds the model into the cache
on first use, and returns a :class:`LocalModel`.
"""

from __future__ import annotations

from collections.abc import Callable

from models.cache import ensure_built
from models.imported import resolve_model
from models.runtime.local import LocalModel

__all__ = ["LocalModel", "load_model"]


def load_model(
    model_id: str,
    *,
    quantize: bool = False,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
) -> LocalModel:
    """Resolve ``model_id``, build it on first use (``quantize`` selects the int8 variant), and load it.

    Unknown ids raise ``ResourceNotFoundException``; a damaged cache entry is rebuilt or reported by
    ``models.cache.ensure_built``.
    """
    spec = resolve_model(model_id)
    built = ensure_built(spec, quantize=quantize, progress=progress)
    return LocalModel(built, threads=threads)
