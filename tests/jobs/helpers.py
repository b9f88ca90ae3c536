"""Helpers for the job tests: input files and running the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def write_jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    """One JSON object per line."""
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def docs(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Documents with an id and a short text the tiny model's vocabulary covers."""
    words = ["the cat sat on the mat", "a dog", "hello world", "search query", "passage"]
    return [{"doc_id": f"d{i}", "text": f"{words[i % len(words)]} {i}", "n": i} for i in range(start, start + n)]


def ingest(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``ingest ARGS`` in a subprocess with this environment (plus ``env``)."""
    full = {k: v for k, v in os.environ.items() if k != "INGEST_FAULT"}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli.main", *args],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout,
    )


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON summary printed on stdout by ``ingest run``."""
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no summary; rc={proc.returncode}\nstdout={proc.stdout}\nstderr={proc.stderr}"
    return dict(json.loads(lines[-1]))
