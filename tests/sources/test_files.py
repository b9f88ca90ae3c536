"""File sources: every format, folders and globs, bad records reported not fatal, exact resume."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.sources import open_source
from ingest.sources.base import Source


def _rows(source: Source, resume: dict | None = None) -> tuple[list[dict], list, list[dict]]:
    rows: list[dict] = []
    errors: list = []
    positions: list[dict] = []
    for sb in source.batches(resume):
        rows.extend(sb.batch.to_pylist())
        errors.extend(sb.errors)
        positions.append(sb.position)
        json.dumps(sb.position)  # positions are JSON-able
    return rows, errors, positions


def _table(n: int, start: int = 0) -> pa.Table:
    return pa.table({"id": [f"d{i}" for i in range(start, start + n)], "n": list(range(start, start + n))})


def test_jsonl_bad_lines_become_errors(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    lines = [b'{"id": "a", "n": 1}', b"not json", b"", b'{"id": "b", "n": 2}', b'"a string"',
             b'{"id": "\xff\xfe bad utf8"}', b'{"id": "c", "n": "three"}', b'{"id": "d", "n": 4}']
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows, errors, _ = _rows(open_source(str(path), batch_size=100))
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]  # "three" is for the index's mapping to judge
    assert [r["n"] for r in rows] == [1, 2, "three", 4]
    reasons = {e.location.rsplit(":", 1)[1]: e.reason for e in errors}
    assert set(reasons) == {"2", "5", "6"}
    assert reasons["2"].startswith("invalid JSON")
    assert "JSON object" in reasons["5"]
    assert reasons["6"].startswith("invalid UTF-8")
    bad_utf8 = next(e for e in errors if e.location.endswith(":6"))
    assert bad_utf8.raw == lines[5]  # the raw bytes are kept for the dead-letter store


def test_jsonl_mixed_types_keep_every_row_and_resume_between_runs(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    docs = [{"id": f"d{i}", "code": 7 if i == 17 else f"c{i}"} for i in range(50)]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    rows, errors, positions = _rows(open_source(str(path), batch_size=100))
    assert not errors
    assert rows == docs  # values as written, in order: 49 strings and one number
    assert len(positions) == 3  # runs: strings, the number, strings
    resumed, _, _ = _rows(open_source(str(path), batch_size=100), positions[1])
    assert [r["id"] for r in resumed] == [f"d{i}" for i in range(18, 50)]


def test_jsonl_document_arrow_cannot_hold_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"id": "a", "t": ["x", 1]}\n{"id": "b", "t": ["y"]}\n')
    rows, errors, _ = _rows(open_source(str(path), batch_size=100))
    assert [r["id"] for r in rows] == ["b"]
    assert [e.location.rsplit(":", 1)[1] for e in errors] == ["1"]


def test_jsonl_gzip_and_resume_exactly(tmp_path: Path) -> None:
    path = tmp_path / "docs.ndjson.gz"
    with gzip.open(path, "wb") as out:
        for i in range(95):
            out.write(json.dumps({"id": f"d{i}", "n": i}).encode() + b"\n")
    source = open_source(str(path), batch_size=10)
    rows, _, positions = _rows(source)
    assert len(rows) == 95 and len(positions) == 10
    resumed, _, _ = _rows(source, positions[3])
    assert [r["id"] for r in resumed] == [f"d{i}" for i in range(40, 95)]


def test_parquet_folder_resume_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(_table(25), folder / "a.parquet", row_group_size=7)
    pq.write_table(_table(12, 25), folder / "b.parquet", row_group_size=5)
    (folder / ".hidden.parquet").write_bytes(b"junk")
    source = open_source(str(folder), batch_size=6)
    assert source.total_rows() == 37
    rows, _, positions = _rows(source)
    assert [r["n"] for r in rows] == list(range(37))
    sizes = [b.batch.num_rows for b in source.batches()]
    for cut in range(len(positions)):
        rest, _, _ = _rows(source, positions[cut])
        assert [r["n"] for r in rest] == list(range(sum(sizes[: cut + 1]), 37)), positions[cut]
    assert _rows(source, positions[-1])[0] == []


def test_csv_bad_row_and_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_bytes(b"id,text\n1,hello\n2,too,many,fields\n3,caf\xe9 latin1\n4,bye\n")
    rows, errors, positions = _rows(open_source(str(path)))
    assert [r["id"] for r in rows] == [1, 3, 4]
    assert rows[1]["text"] == "caf\ufffd latin1"  # one bad byte does not stop the read
    assert len(errors) == 1 and "expected 2 fields, found 4" in errors[0].reason
    assert positions[-1]["row"] == 3


def test_csv_and_arrow_resume(tmp_path: Path) -> None:
    pacsv.write_csv(_table(50), tmp_path / "t.csv")
    feather.write_feather(_table(50), tmp_path / "t.arrow", chunksize=8)
    for name in ("t.csv", "t.arrow"):
        source = open_source(str(tmp_path / name), batch_size=9)
        rows, _, positions = _rows(source)
        assert [r["n"] for r in rows] == list(range(50))
        rest, _, _ = _rows(source, positions[2])
        assert positions[2]["row"] == sum(b.batch.num_rows for b in list(source.batches())[:3])
        assert [r["n"] for r in rest] == list(range(positions[2]["row"], 50))


def test_glob_and_format_errors(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"part-{i}.jsonl").write_text(json.dumps({"n": i}) + "\n")
    (tmp_path / "notes.txt").write_text("x")
    rows, _, _ = _rows(open_source(str(tmp_path / "part-*.jsonl")))
    assert [r["n"] for r in rows] == [0, 1, 2]
    assert [r["n"] for r in _rows(open_source(str(tmp_path)))[0]] == [0, 1, 2]  # unknown suffixes skipped
    with pytest.raises(ResourceNotFoundException):
        open_source(str(tmp_path / "missing.jsonl"))
    with pytest.raises(ResourceNotFoundException):
        open_source(str(tmp_path / "*.parquet"))
    with pytest.raises(IllegalArgumentException, match="cannot tell the format"):
        open_source(str(tmp_path / "notes.txt"))
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(IllegalArgumentException, match="cannot tell the format"):
        open_source(str(tmp_path))
    source = open_source(str(tmp_path / "part-*.jsonl"))
    with pytest.raises(IllegalArgumentException, match="set of files changed"):
        list(source.batches({"file": 0, "path": str(tmp_path / "other.jsonl"), "offset": 0, "line": 0}))


def test_empty_objects_keep_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("{}\n{}\n")
    batches = list(open_source(str(path)).batches())
    assert sum(b.batch.num_rows for b in batches) == 2


def test_gzipped_tsv(tmp_path: Path) -> None:
    path = tmp_path / "docs.tsv.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"id\ttext\n1\ta, b\n2\tc\n")
    rows, errors, _ = _rows(open_source(str(path)))
    assert rows == [{"id": 1, "text": "a, b"}, {"id": 2, "text": "c"}] and not errors


def test_jsonl_keeps_fields_that_appear_after_the_first_document(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    path.write_text('{"doc_id": "a", "text": "x"}\n{"doc_id": "b", "other": "y", "nested": {"k": 1}}\n')
    rows = [row for sb in open_source(str(path)).batches() for row in sb.batch.to_pylist()]
    assert rows[1]["other"] == "y"
    assert rows[1]["nested"] == {"k": 1}
    assert rows[0]["text"] == "x"
