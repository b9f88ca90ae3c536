"""Local model runtime: tokenise, batch by length under a token budget, run on onnxruntime, pool, decode.

``load_model`` is the entry point: it resolves an id (built-in or imported), builds the model into the cache
on first use, and returns a :class:`LocalModel`.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.models.cache import ensure_built
from ingest.models.imported import resolve_variant
from ingest.models.runtime.local import LocalModel

__all__ = ["LocalModel", "load_model"]


def load_model(
    model_id: str,
    *,
    quantize: bool = False,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
) -> LocalModel:
    """Resolve ``model_id``, build it on first use, and load it.

    The optimised ids (``_linux-x86_64``) and ``quantize`` select the int8 build; unknown ids raise
    ``ResourceNotFoundException``; a damaged cache entry is rebuilt or reported by ``ingest.models.cache.ensure_built``.
    """
    variant = resolve_variant(model_id)
    built = ensure_built(variant.spec, quantize=quantize or variant.optimized, progress=progress)
    return LocalModel(built, threads=threads)
