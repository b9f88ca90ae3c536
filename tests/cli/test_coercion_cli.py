"""`ingest run` into the embedded store coerces field types as Elasticsearch's dynamic mapping does
(real CLI subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.jobs.helpers import ingest, summary_of, write_jsonl


def test_string_field_with_one_number_indexes_all_50(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    docs = [{"id": f"d{i}", "code": 17 if i == 17 else f"c{i}", "n": str(i) if i == 30 else i} for i in range(50)]
    source = write_jsonl(tmp_path / "mixed.jsonl", docs)
    proc = ingest("run", "--source", str(source), "--index", "mixed", "--id-field", "id", env=env)
    assert proc.returncode == 0, proc.stderr
    summary = summary_of(proc)
    assert (summary["indexed"], summary["failed"]) == (50, 0)


def test_what_elasticsearch_rejects_is_dead_lettered_with_its_error(tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(tmp_path / "home")}
    docs: list[dict[str, Any]] = [{"id": "a", "n": 1, "when": "2024-05-01"}, {"id": "b", "n": "abc", "when": "2024-05-02"},
            {"id": "c", "n": 3, "when": "not a date"}, {"id": "d", "n": "4", "when": 1714521600000}]
    source = write_jsonl(tmp_path / "docs.jsonl", docs)
    proc = ingest("run", "--source", str(source), "--index", "typed", "--id-field", "id", "--job-id", "typed",
                  env=env)
    assert proc.returncode == 1, proc.stderr
    assert (summary_of(proc)["indexed"], summary_of(proc)["failed"]) == (2, 2)
    listed = ingest("dead-letter", "list", "--job-id", "typed", env=env)
    letters = {json.loads(c)["_id"]: json.loads(c) for c in listed.stdout.splitlines()}
    assert set(letters) == {"b", "c"}
    text = json.dumps(letters)
    assert "document_parsing_exception" in text
    assert "failed to parse field [n] of type [long] in document with id 'b'" in text
    assert "failed to parse field [when] of type [date] in document with id 'c'" in text
