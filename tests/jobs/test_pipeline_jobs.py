"""Jobs through a real pipeline (the tiny models behind elasticsearch-service endpoints): vectors land, the
skip-unchanged cache spares the model, search finds the documents, _bulk runs pipelines."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.context import AppContext
from ingest.jobs import JobConfig, run_job
from ingest.server.destination import Destination
from ingest.server.routes import bulk, documents, indices, search
from ingest.server.security import Authenticator
from ingest.server.security.middleware import install
from ingest.sinks import open_sink
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import docs, ingest, write_jsonl


def _pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(pipeline_body()), encoding="utf-8")
    return path


def test_pipeline_job_writes_vectors_and_skips_unchanged_texts(tiny_endpoints: dict[str, str], tmp_path: Path) -> None:
    data = docs(60)
    src = write_jsonl(tmp_path / "in.jsonl", data)
    config = JobConfig(source=str(src), index="enriched", pipeline=str(_pipeline_file(tmp_path)), id_field="doc_id",
                       source_options={"batch_size": 25})
    first = run_job(config)
    assert first.indexed == 60 and first.failed == 0
    assert first.cache_misses == 120 and first.cache_hits == 0  # two endpoints, 60 texts each
    store = open_sink("embedded")
    doc = store.get("enriched", "d3")  # type: ignore[attr-defined]
    store.close()
    assert doc is not None and len(doc["vec"]) == 32 and doc["tokens"] and doc["source"] == "jobs-test"

    again = run_job(config)  # same texts, same model versions: nothing goes to the model
    assert again.indexed == 60 and again.cache_hits == 120 and again.cache_misses == 0
    store = open_sink("embedded")
    cached = store.get("enriched", "d3")  # type: ignore[attr-defined]
    store.close()
    assert cached is not None
    assert [round(x, 5) for x in cached["vec"]] == [round(x, 5) for x in doc["vec"]]

    data[5]["text"] = "a brand new text"
    write_jsonl(src, data)
    changed = run_job(config)
    assert changed.cache_misses == 2 and changed.cache_hits == 118
    # Cached and fresh vectors are put back in input order: d5 has the new text's vector, d3 its old one.
    from ingest.models.api import InferenceAPI

    api = InferenceAPI()
    fresh = api.infer("tiny-dense", ["a brand new text"], input_type="ingest").embeddings[0]
    api.close()
    store = open_sink("embedded")
    d5, d3 = store.get("enriched", "d5"), store.get("enriched", "d3")  # type: ignore[attr-defined]
    store.close()
    assert [round(x, 5) for x in d5["vec"]] == [round(float(x), 5) for x in fresh]
    assert [round(x, 5) for x in d3["vec"]] == [round(x, 5) for x in doc["vec"]]


def test_documents_the_pipeline_rejects_go_to_the_dead_letter_store(
    tiny_endpoints: dict[str, str], tmp_path: Path
) -> None:
    from ingest.deadletter.store import DeadLetterStore

    src = write_jsonl(tmp_path / "in.jsonl", [*docs(5), {"doc_id": "no-text", "n": 99}])
    summary = run_job(JobConfig(source=str(src), index="rej", pipeline=str(_pipeline_file(tmp_path)),
                                id_field="doc_id", job_id="rej"))
    assert summary.indexed == 5 and summary.failed == 1
    [letter] = DeadLetterStore().entries("rej")
    assert letter.stage == "pipeline" and letter.doc_id == "no-text" and "text" in letter.reason
    assert json.loads(letter.content) == {"doc_id": "no-text", "n": 99}


def test_search_uses_the_endpoint_that_filled_the_field(tiny_endpoints: dict[str, str], tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(25))
    proc = ingest("run", "--source", str(src), "--index", "s", "--pipeline", str(_pipeline_file(tmp_path)),
                  "--id-field", "doc_id")
    assert proc.returncode == 0, proc.stderr[-2000:]
    both = ingest("search", "s", "hello world")
    assert both.returncode == 2 and "several vector fields" in both.stderr
    dense = ingest("search", "s", "hello world 7", "--endpoint", "tiny-dense", "-k", "3")
    assert dense.returncode == 0, dense.stderr
    body = json.loads(dense.stdout)
    assert body["field"] == "vec" and len(body["hits"]["hits"]) == 3
    scores = [h["_score"] for h in body["hits"]["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert body["hits"]["hits"][0]["_source"]["text"] == "hello world 7"  # its own text is the nearest
    sparse = json.loads(ingest("search", "s", "dog", "--endpoint", "tiny-sparse", "-k", "5").stdout)
    assert sparse["field"] == "tokens" and sparse["hits"]["hits"]
    assert ingest("search", "s", "x", "--field", "text").returncode == 2


def test_bulk_runs_the_request_pipeline_and_the_index_default(tiny_endpoints: dict[str, str]) -> None:
    from ingest.models.api import InferenceAPI
    from ingest.models.store import Store
    from ingest.processors import PipelineService

    PipelineService(Store(), InferenceAPI()).put("tiny", pipeline_body())
    app = FastAPI()
    app.include_router(documents.router)  # GET _doc
    app.include_router(bulk.router)
    app.include_router(search.router)  # _count
    app.include_router(indices.router)  # PUT /{index}
    app.state.destination = Destination(AppContext(api=InferenceAPI()))
    app.state.context = app.state.destination.context
    install(app, Authenticator(Store()))
    with TestClient(app) as client:
        out = client.post("/_bulk?pipeline=tiny", content=b'{"index":{"_index":"a","_id":"1"}}\n{"text":"the cat"}\n'
                          b'{"index":{"_index":"a","_id":"2"}}\n{"other":"no text field"}\n').json()
        assert out["errors"] is True
        assert out["items"][0]["index"]["status"] == 201 and out["items"][1]["index"]["status"] >= 400
        assert len(client.get("/a/_doc/1").json()["_source"]["vec"]) == 32
        assert client.put("/b", json={"settings": {"index": {"default_pipeline": "tiny"}}}).status_code == 200
        client.post("/b/_bulk", content=b'{"index":{"_id":"x"}}\n{"text":"a dog"}\n'
                    b'{"index":{"_id":"y","pipeline":"_none"}}\n{"text":"raw"}\n')
        assert "tokens" in client.get("/b/_doc/x").json()["_source"]
        assert "tokens" not in client.get("/b/_doc/y").json()["_source"]
        missing = client.post("/_bulk?pipeline=nope", content=b'{"index":{"_index":"c"}}\n{"text":"t"}\n').json()
        assert missing["items"][0]["index"]["status"] == 400
        assert missing["items"][0]["index"]["error"] == {
            "type": "illegal_argument_exception", "reason": "pipeline with id [nope] does not exist"}
    app.state.destination.close()
