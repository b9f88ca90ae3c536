"""Issue 11, item 8: bad input fails its own ``_bulk`` item with Elasticsearch's 400, never the request.

Through real HTTP (uvicorn on 127.0.0.1), on the embedded store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import serve

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture()
def url(ingest_home: Path) -> Iterator[str]:
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    app = create_app(api)
    try:
        with serve(app) as base:
            yield base
    finally:
        app.state.destination.close()
        api.close()


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def _items(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    return [next(iter(item.values())) for item in r.json()["items"]]


def test_lone_surrogate_fails_only_its_item(url: str) -> None:
    body = (_line({"index": {"_index": "s", "_id": "1"}}) + b'{"t": "ok"}\n'
            + _line({"index": {"_index": "s", "_id": "2"}}) + b'{"t": "bad \\ud800 half"}\n'
            + _line({"index": {"_index": "s", "_id": "3"}}) + b'{"t": "pair \\ud83d\\ude00 ok"}\n')
    items = _items(httpx.post(f"{url}/_bulk?refresh=true", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [201, 400, 201]
    assert items[1]["error"]["type"] == "document_parsing_exception"
    assert "unpaired UTF-16 surrogate" in items[1]["error"]["reason"]
    assert httpx.get(f"{url}/s/_count").json()["count"] == 2
    body = (b'{"index": {"_index": "s\\udc00", "_id": "4"}}\n{"t": "x"}\n'
            + b'{"delete": {"_index": "s", "_id": "\\ud800"}}\n' + _line({"index": {"_index": "s"}}) + b'{"t": "y"}\n')
    items = _items(httpx.post(f"{url}/_bulk", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [400, 400, 201]
    assert items[0]["error"]["reason"].endswith("a value holds an unpaired UTF-16 surrogate")
    assert httpx.get(f"{url}/s/_doc/3").json()["_source"] == {"t": "pair \U0001f600 ok"}


def test_invalid_ids_fail_only_their_items(url: str) -> None:
    body = b"".join([
        _line({"index": {"_index": "ids", "_id": {"a": 1}}}), _line({"n": 1}),
        _line({"index": {"_index": "ids", "_id": ""}}), _line({"n": 2}),
        _line({"index": {"_index": "ids", "_id": "x" * 513}}), _line({"n": 3}),
        _line({"index": {"_index": "ids", "_id": "y" * 512}}), _line({"n": 4}),
        _line({"index": {"_index": "ids", "_id": 7}}), _line({"n": 5}),
        _line({"delete": {"_index": "ids", "_id": ["z"]}}),
    ])
    items = _items(httpx.post(f"{url}/_bulk?refresh=true", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [400, 400, 400, 201, 201, 400]
    assert items[0]["error"] == {
        "type": "illegal_argument_exception",
        "reason": "Malformed action/metadata line [1], expected a simple value for field [_id] but found "
                  "[START_OBJECT]"}
    assert items[1]["error"] == {"type": "illegal_argument_exception",
                                 "reason": "if _id is specified it must not be empty"}
    assert items[2]["error"]["type"] == "action_request_validation_exception"
    assert items[2]["error"]["reason"] == (f"Validation Failed: 1: id [{'x' * 513}] is too long, must be no longer "
                                           "than 512 bytes but was: 513;")
    assert items[5]["error"]["reason"].endswith("expected a simple value for field [_id] but found [START_ARRAY]")
    assert httpx.get(f"{url}/ids/_doc/7").json()["_source"] == {"n": 5}  # a number is its JSON text, not repr
    assert httpx.get(f"{url}/ids/_count").json()["count"] == 2


@pytest.mark.parametrize("field", ["_id", "_source", "_version", "_index", "_seq_no", "_routing"])
def test_metadata_fields_inside_source_fail_only_their_item(url: str, field: str) -> None:
    body = (_line({"index": {"_index": "m", "_id": "1"}}) + _line({field: "x", "a": 1})
            + _line({"create": {"_index": "m", "_id": "2"}}) + _line({"a": 2, "_doc_count": 3}))
    items = _items(httpx.post(f"{url}/_bulk?refresh=true", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [400, 201]
    assert items[0]["error"] == {
        "type": "document_parsing_exception",
        "reason": f"Field [{field}] is a metadata field and cannot be added inside a document. Use the index API "
                  "request parameters."}
    assert httpx.get(f"{url}/m/_count").json()["count"] == 1


def test_malformed_source_fails_only_its_item(url: str) -> None:
    body = (_line({"index": {"_index": "p", "_id": "1"}}) + b'{"a": \n'
            + _line({"index": {"_index": "p", "_id": "2"}}) + b"[1, 2]\n"
            + _line({"index": {"_index": "p", "_id": "3"}}) + _line({"a": 3}))
    items = _items(httpx.post(f"{url}/_bulk?refresh=true", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [400, 400, 201]
    assert items[0]["error"]["type"] == "document_parsing_exception"
    assert items[0]["error"]["reason"].startswith("failed to parse: [1:")
    assert items[1]["error"]["reason"] == "[1:1] Malformed content, must start with an object"


def test_a_pipeline_setting_a_bad_id_fails_only_that_item(url: str) -> None:
    pipeline = {"processors": [{"set": {"field": "_id", "value": "{{{name}}}"}}]}
    assert httpx.put(f"{url}/_ingest/pipeline/ids", json=pipeline).status_code == 200
    body = (_line({"index": {"_index": "q"}}) + _line({"name": "ok"})
            + _line({"index": {"_index": "q"}}) + _line({"name": "n" * 600}))
    items = _items(httpx.post(f"{url}/_bulk?pipeline=ids&refresh=true", content=body, headers=NDJSON))
    assert [i["status"] for i in items] == [201, 400]
    assert "is too long, must be no longer than 512 bytes but was: 600" in items[1]["error"]["reason"]


def test_a_job_dead_letters_a_lone_surrogate_line_and_writes_the_rest(ingest_home: Path, tmp_path: Path) -> None:
    """The job path: the whole file failed with a UnicodeEncodeError, nothing indexed (now: that line 400)."""
    from tests.jobs.helpers import ingest, summary_of

    source = tmp_path / "docs.jsonl"
    source.write_bytes(b'{"text": "ok 1"}\n{"text": "bad \\ud800 x"}\n{"text": "ok 2"}\n')
    summary = summary_of(ingest("run", "--source", str(source), "--index", "t"))
    assert (summary["indexed"], summary["failed"]) == (2, 1)
    letters = [json.loads(line) for line in ingest("dead-letter", "list").stdout.splitlines() if line.startswith("{")]
    assert len(letters) == 1 and letters[0]["status"] == 400
    assert "unpaired UTF-16 surrogate" in letters[0]["error"]["reason"]


def test_a_job_refuses_metadata_fields_and_bad_ids_per_document(ingest_home: Path, tmp_path: Path) -> None:
    """The job path shares the bulk rules: a ``_version`` field or an over-512-byte id fails that document only."""
    from tests.jobs.helpers import ingest, summary_of

    source = tmp_path / "docs.jsonl"
    rows = [{"key": "a", "text": "ok"}, {"key": "b", "text": "x", "_version": 3}, {"key": "c" * 600, "text": "long"},
            {"key": "d", "text": "ok too"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = summary_of(ingest("run", "--source", str(source), "--index", "meta", "--id-field", "key"))
    assert (summary["indexed"], summary["failed"]) == (2, 2)
    letters = [json.loads(line) for line in ingest("dead-letter", "list").stdout.splitlines() if line.startswith("{")]
    reasons = sorted(letter["error"]["reason"] for letter in letters)
    assert reasons[0] == ("Field [_version] is a metadata field and cannot be added inside a document. Use the "
                          "index API request parameters.")
    assert "is too long, must be no longer than 512 bytes but was: 600" in reasons[1]
    assert all(letter["status"] == 400 for letter in letters)
