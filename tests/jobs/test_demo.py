"""``make demo``: the sample pipeline (E5 + ELSER-compatible) into the embedded store, then dense and sparse search."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ingest.demo import run_demo

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.mark.realmodel
def test_demo_indexes_the_sample_and_finds_the_right_documents(ingest_home: Path, tmp_path: Path) -> None:
    docs = [json.loads(line) for line in (SAMPLE / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    subset = [d for d in docs if "password" in d["title"].lower()][:3] + [
        d for d in docs if "kettle" in d["title"].lower()][:3] + docs[:30]
    unique = list({d["id"]: d for d in subset}.values())
    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in unique), encoding="utf-8")
    (sample / "queries.txt").write_text("I forgot my password and can't log in\nsomething to boil water for tea\n")

    out = io.StringIO()
    results = run_demo(sample, k=2, out=out)

    assert results["summary"]["indexed"] == len(unique)
    titles = {d["id"]: d["title"].lower() for d in unique}
    password_hits = results["queries"]["I forgot my password and can't log in"]
    assert "password" in titles[password_hits["dense"][0]]
    assert "password" in titles[password_hits["sparse"][0]]
    assert "kettle" in titles[results["queries"]["something to boil water for tea"]["dense"][0]]
    assert "indexed" in out.getvalue()
