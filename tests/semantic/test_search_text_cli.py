"""``ingest search INDEX TEXT`` on an index whose only embeddings are a ``semantic_text`` field's: the text runs
as a ``semantic`` query (before, the command answered 404 "no vector fields written by ingest")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.jobs.helpers import ingest, write_jsonl
from tests.processors.conftest import CountingAPI
from tests.semantic.test_write_paths import _create_index


def test_search_text_on_a_semantic_text_field_runs_a_semantic_query(
        tiny_api: CountingAPI, ingest_home: Path, tmp_path: Path) -> None:
    _create_index(tiny_api)
    data = [{"doc_id": f"d{i}", "text": text} for i, text in enumerate(
        ["the cat sat on the mat", "stock markets fell sharply today", "a recipe for lemon cake"])]
    run = ingest("run", "--source", str(write_jsonl(tmp_path / "in.jsonl", data)), "--index", "sem",
                 "--id-field", "doc_id")
    assert run.returncode == 0, run.stderr
    proc = ingest("search", "sem", "stock markets fell sharply today", "-k", "2")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    hits = answer["hits"]["hits"]
    assert len(hits) == 2 and hits[0]["_id"] == "d1"  # the identical text embeds to the same vector
    assert hits[0]["_score"] >= hits[1]["_score"]
    assert "_inference_fields" not in hits[0]["_source"]  # original text back, as GET returns it
    assert hits[0]["_source"]["text"] == "stock markets fell sharply today"

    named = ingest("search", "sem", "lemon cake", "--field", "nope")
    assert named.returncode == 2 and "field [nope] of index [sem] is neither a vector field nor a semantic_text" in named.stderr
