"""Files sink: Parquet and JSONL outputs with typed vector columns; staged, exported atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint


def test_parquet_single_file_with_vector_columns(tmp_path: Path) -> None:
    out = tmp_path / "enriched.parquet"
    sink = open_sink(f"file://{out}")
    sink.ensure_index("docs", {"emb": FieldHint("dense", 2, "cosine"), "sp": FieldHint("sparse")})
    sink.begin_load("docs")
    results = sink.write([
        BulkAction("index", "docs", "b", {"title": "B", "emb": [0.0, 1.0], "sp": {"x": 1.0}}),
        BulkAction("index", "docs", "a", {"title": "A", "n": 3, "emb": [1.0, 0.0]}),
        BulkAction("index", "other", "a", {"title": "elsewhere"}),
    ])
    assert [r.status for r in results] == [201, 201, 400]  # a single file holds one index
    sink.end_load("docs")
    table = pq.read_table(out)
    assert table.column_names[0] == "_id" and table.column("_id").to_pylist() == ["a", "b"]
    assert table.schema.field("emb").type == pa.list_(pa.float32(), 2)
    assert table.schema.field("sp").type == pa.map_(pa.string(), pa.float32())
    assert table.column("emb").to_pylist() == [[1.0, 0.0], [0.0, 1.0]]
    assert table.column("title").to_pylist() == ["A", "B"] and table.column("n").to_pylist() == [3, None]
    sink.close()
    assert not list(tmp_path.glob(".*.tmp"))


def test_jsonl_resume_after_reopen(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = open_sink(f"file://{out}")
    first.write([BulkAction("index", "i", str(n), {"n": n}) for n in range(3)])
    first.close()
    again = open_sink(f"file://{out}")  # a resumed job: staged documents are still there
    again.write([BulkAction("index", "i", "1", {"n": 10}), BulkAction("delete", "i", "2", None)])
    again.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [{"_id": "0", "n": 0}, {"_id": "1", "n": 10}]
