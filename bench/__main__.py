"""``python -m bench``: the runtime benchmark, then the SciFact retrieval check."""

from __future__ import annotations

from bench import retrieval, runtime

if __name__ == "__main__":
    runtime.main([])
    retrieval.main([])
