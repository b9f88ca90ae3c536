"""Fixtures for the model tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models import cache


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private model cache for tiny-model tests (real models keep using the shared one)."""
    root = tmp_path / "model-cache"
    monkeypatch.setenv("INGEST_MODEL_CACHE", str(root))
    monkeypatch.setattr(cache, "_verified_states", {})
    return root
