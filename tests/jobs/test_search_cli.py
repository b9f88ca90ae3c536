"""``ingest search`` as a thin client of ``_search``: the query DSL from ``--query`` or stdin, hits without
vectors unless ``--vectors``, query vectors from the endpoint that filled the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.jobs import JobConfig, run_job
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import ROOT, docs, ingest, write_jsonl


def _indexed(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(pipeline_body()), encoding="utf-8")
    src = write_jsonl(tmp_path / "in.jsonl", docs(20))
    summary = run_job(JobConfig(source=str(src), index="enriched", pipeline=str(path), id_field="doc_id"))
    assert summary.indexed == 20


def test_search_dsl_from_flag_and_stdin(tiny_endpoints: dict[str, str], tmp_path: Path) -> None:
    _indexed(tmp_path)
    found = ingest("search", "enriched", "--query", json.dumps({"match": {"text": "dog"}}))
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["hits"]["total"] == {"value": 4, "relation": "eq"}
    hit = answer["hits"]["hits"][0]
    assert "dog" in hit["_source"]["text"] and "vec" not in hit["_source"] and "tokens" not in hit["_source"]
    body = {"query": {"range": {"n": {"lt": 3}}}, "sort": [{"n": "desc"}], "size": 2}
    piped = subprocess.run([sys.executable, "-m", "ingest.cli.main", "search", "enriched", "--vectors"],
                           input=json.dumps(body), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    hits = json.loads(piped.stdout)["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["d2", "d1"] and len(hits[0]["_source"]["vec"]) == 32


def test_search_knn_with_query_vector_builder_and_bad_query(tiny_endpoints: dict[str, str], tmp_path: Path) -> None:
    _indexed(tmp_path)
    body = {"knn": {"field": "vec", "k": 3, "num_candidates": 10, "query_vector_builder": {
        "text_embedding": {"model_id": "tiny-dense", "model_text": "hello world 2"}}}}
    found = ingest("search", "enriched", "--query", json.dumps(body))
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]["hits"]
    assert len(hits) == 3 and hits[0]["_id"] == "d2"  # the document whose text is the query
    sparse = ingest("search", "enriched", "--query", json.dumps(
        {"sparse_vector": {"field": "tokens", "inference_id": "tiny-sparse", "query": "dog"}}))
    assert sparse.returncode == 0, sparse.stderr
    ours = json.loads(sparse.stdout)["hits"]["hits"][:5]
    # the same dot product as the store's own SQL sparse search (the text form of the command)
    theirs = json.loads(ingest("search", "enriched", "dog", "--endpoint", "tiny-sparse", "-k", "5").stdout)
    assert [round(h["_score"], 4) for h in ours] == [round(h["_score"], 4) for h in theirs["hits"]["hits"]]
    mine = {h["_id"]: round(h["_score"], 3) for h in json.loads(sparse.stdout)["hits"]["hits"]}
    assert all(mine.get(h["_id"]) == round(h["_score"], 3) for h in theirs["hits"]["hits"])  # ties may reorder
    bad = ingest("search", "enriched", "--query", json.dumps({"nope": {}}))
    assert bad.returncode != 0 and "unknown query [nope]" in bad.stdout + bad.stderr
