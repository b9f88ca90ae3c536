"""The implementations satisfy the protocols processors/ declares at its joins, checked by mypy itself (the
package passes some of them only through untyped code, e.g. an ``EnrichIndex`` given by a user)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = '''
from ingest.jobs.cache import CachingInference
from ingest.models.api import InferenceAPI
from ingest.models.store import Store
from ingest.processors.base import CalledPipeline, EnrichSource
from ingest.processors.enrich import EnrichIndex
from ingest.processors.pipeline import Pipeline
from ingest.processors.protocols import InferenceClient, PipelineStore
from ingest.processors.runnable import RunnablePipeline


def check(p: Pipeline, api: InferenceAPI, cached: CachingInference, store: Store, index: EnrichIndex) -> None:
    enrich: EnrichSource = index
    inference: InferenceClient = api
    wrapped: InferenceClient = cached
    pipelines: PipelineStore = store
    runnable: RunnablePipeline = p
    called: CalledPipeline = p
'''


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "joins.py"
    path.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_implementations_satisfy_the_protocols(tmp_path: Path) -> None:
    proc = _mypy(tmp_path, SNIPPET)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_missing_member_is_caught(tmp_path: Path) -> None:
    proc = _mypy(tmp_path, SNIPPET + "\n\nclass NotAStore:\n    pass\n\n\nwrong: PipelineStore = NotAStore()\n")
    assert proc.returncode == 1 and "PipelineStore" in proc.stdout
