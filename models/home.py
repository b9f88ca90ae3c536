"""Where ingest keeps its state: model cache, registry, embedded indices."""

from __future__ import annotations

import os
from pathlib import Path


def ingest_home() -> Path:
    """Return ``$INGEST_HOME`` (default ``~/.cache/ingest``), created if missing."""
    raw = os.environ.get("INGEST_HOME")
    home = Path(raw).expanduser() if raw else Path.home() / ".cache" / "ingest"
    home.mkdir(parents=True, exist_ok=True)
    return home


def models_dir() -> Path:
    """Folder holding converted ONNX models, one sub-folder per model and variant.

    ``$INGEST_MODEL_CACHE`` overrides it, so several homes (tests, jobs) can share one set of built models.
    """
    raw = os.environ.get("INGEST_MODEL_CACHE")
    path = Path(raw).expanduser() if raw else ingest_home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
