"""The dead-letter store keeps each failure once, with its content, stage and reason."""

from __future__ import annotations

from pathlib import Path

from ingest.deadletter.store import DeadLetter, DeadLetterStore


def test_add_list_dedupe_remove(ingest_home: Path) -> None:
    store = DeadLetterStore()
    a = DeadLetter(job_id="j", stage="read", content="{bad", error_type="parsing_exception", reason="line 3",
                   doc_key="k1")
    b = DeadLetter(job_id="j", stage="write", content='{"x": 1}', error_type="mapper_parsing_exception",
                   reason="failed to parse", doc_id="d2", status=400)
    store.add([a, b])
    store.add([a])  # a resumed job re-processing the same batch does not record it twice
    entries = store.entries("j")
    assert [e.stage for e in entries] == ["read", "write"]
    assert entries[1].to_dict()["error"] == {"type": "mapper_parsing_exception", "reason": "failed to parse"}
    assert entries[1].status == 400 and entries[1].doc_id == "d2"
    assert store.count() == 2 and store.count("other") == 0
    store.remove([entries[0].seq])
    assert [e.doc_id for e in store.entries()] == ["d2"]
    store.close()
    assert (ingest_home / "deadletter.sqlite").exists()


def test_lone_surrogates_are_stored_as_their_json_escapes(ingest_home: Path) -> None:
    import json

    store = DeadLetterStore()
    try:
        store.add([DeadLetter(job_id="bulk-api", stage="pipeline", content='{"t": "bad \ud800"}',
                              error_type="invalid_index_name_exception", reason="s\udc00", index="s\udc00",
                              doc_id="4", status=400)])
        (letter,) = store.entries("bulk-api")
    finally:
        store.close()
    assert letter.index == "s\\udc00" and letter.reason == "s\\udc00"
    assert json.loads(letter.content) == {"t": "bad \ud800"}  # the document comes back as it was sent
