"""sample_data/: the committed corpus is exactly what the generator writes, and is shaped for the demo."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _generator():  # sample_data is data, not a package: load the script by path
    spec = importlib.util.spec_from_file_location("sample_generate", SAMPLE / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_corpus_matches_generator(tmp_path: Path) -> None:
    out = tmp_path / "documents.jsonl"
    _generator().main(out)
    assert out.read_bytes() == (SAMPLE / "documents.jsonl").read_bytes()


def test_corpus_shape() -> None:
    docs = [json.loads(line) for line in (SAMPLE / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 200 <= len(docs) <= 500
    assert all(set(d) == {"id", "title", "body", "category"} for d in docs)
    assert len({d["id"] for d in docs}) == len(docs)
    assert {d["category"] for d in docs} == {"support", "product", "news"}
    assert len({d["body"] for d in docs}) == len(docs)  # no duplicate documents
    queries = (SAMPLE / "queries.txt").read_text(encoding="utf-8").splitlines()
    assert 3 <= len([q for q in queries if q.strip()]) <= 12
