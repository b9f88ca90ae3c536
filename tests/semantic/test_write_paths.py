"""``semantic_text`` through the job write paths: ``ingest run`` as a real subprocess (a bad document
dead-lettered with its reason), ``ingest.run_job`` again over unchanged text (stored embeddings reused)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from ingest.deadletter.store import DeadLetterStore
from ingest.jobs import JobConfig, run_job
from ingest.sinks.embedded import EmbeddedStore
from tests.jobs.helpers import ingest, summary_of, write_jsonl
from tests.processors.conftest import CountingAPI


def _create_index(api: CountingAPI) -> None:
    from ingest.server.app import create_app

    with TestClient(create_app(api)) as client:
        answer = client.put("/sem", json={"mappings": {"properties": {
            "text": {"type": "semantic_text", "inference_id": "tiny-chunked"}, "doc_id": {"type": "keyword"}}}})
        assert answer.status_code == 200, answer.text


def _chunks(home: Path, doc_id: str) -> list[dict]:
    store = EmbeddedStore(home / "indices.duckdb")
    try:
        doc = store.get("sem", doc_id)
    finally:
        store.close()
    assert doc is not None
    return list(doc["_inference_fields"]["text"]["inference"]["chunks"]["text"])


def test_ingest_run_embeds_semantic_text_and_dead_letters_bad_documents(
        tiny_api: CountingAPI, ingest_home: Path, tmp_path: Path) -> None:
    _create_index(tiny_api)
    data = [{"doc_id": f"d{i}", "text": f"hello world number {i} " + "word " * (i * 4)} for i in range(6)]
    data.append({"doc_id": "bad", "text": {"not": "text"}})
    source = write_jsonl(tmp_path / "in.jsonl", data)
    proc = ingest("run", "--source", str(source), "--index", "sem", "--id-field", "doc_id")
    summary = summary_of(proc)
    assert proc.returncode == 1 and "1 document(s) went to the dead-letter store" in proc.stderr  # as documented
    assert summary["indexed"] == 6 and summary["failed"] == 1, summary
    assert len(_chunks(ingest_home, "d5")) == 3  # 24 + 4 words in chunks of 10
    letters = DeadLetterStore(ingest_home / "deadletter.sqlite")
    try:
        entries = letters.entries()
    finally:
        letters.close()
    assert len(entries) == 1 and "[semantic_text] field [text]" in str(entries[0].to_dict())


def test_run_job_again_reuses_the_stored_embeddings_of_unchanged_text(
        tiny_api: CountingAPI, ingest_home: Path, tmp_path: Path) -> None:
    _create_index(tiny_api)
    data = [{"doc_id": f"d{i}", "text": f"some text {i}"} for i in range(4)]
    source = write_jsonl(tmp_path / "in.jsonl", data)
    first = run_job(JobConfig(source=str(source), index="sem", id_field="doc_id", job_id="one"))
    assert first.indexed == 4
    before = _chunks(ingest_home, "d2")
    data[2]["text"] = "changed text"
    write_jsonl(source, data)
    from ingest.context import AppContext

    counting = CountingAPI()
    try:
        again = run_job(JobConfig(source=str(source), index="sem", id_field="doc_id", job_id="two"),
                        context=AppContext(api=counting))
    finally:
        counting.close()
    assert again.indexed == 4
    assert counting.calls == [["changed text"]]  # only the changed document is embedded again
    assert _chunks(ingest_home, "d1") and _chunks(ingest_home, "d2") != before


def test_a_copy_into_another_index_takes_unchanged_texts_from_the_embedding_cache(
        tiny_api: CountingAPI, ingest_home: Path, tmp_path: Path) -> None:
    from ingest.context import AppContext

    _create_index(tiny_api)
    source = write_jsonl(tmp_path / "in.jsonl", [{"doc_id": f"d{i}", "text": f"cached text {i}"} for i in range(3)])
    context = AppContext(api=tiny_api)
    assert run_job(JobConfig(source=str(source), index="sem", id_field="doc_id", job_id="a"),
                   context=context).indexed == 3
    from ingest.server.app import create_app

    with TestClient(create_app(tiny_api)) as client:
        for name in ("copy", "copy2"):
            assert client.put(f"/{name}", json={"mappings": {"properties": {
                "text": {"type": "semantic_text", "inference_id": "tiny-chunked"}}}}).status_code == 200
    tiny_api.calls.clear()
    copied = run_job(JobConfig(source=str(source), index="copy", id_field="doc_id", job_id="b"), context=context)
    assert copied.indexed == 3 and tiny_api.calls == []  # every text came from the cache
    store = EmbeddedStore(ingest_home / "indices.duckdb")
    try:
        a, b = store.get("sem", "d1"), store.get("copy", "d1")
    finally:
        store.close()
    assert a is not None and b is not None and a["_inference_fields"] == b["_inference_fields"]
    # without the cache the copy is embedded again
    again = run_job(JobConfig(source=str(source), index="copy2", id_field="doc_id", job_id="c",
                              skip_unchanged=False), context=context)
    assert again.indexed == 3 and tiny_api.calls == [[f"cached text {i}" for i in range(3)]]
