"""Dates, times and decimals from any Arrow source index as the official client sends them (ISO strings mapped as
``date``, decimals as numbers): one conversion (``ingest.sources.jsonready``) in front of every pipeline, so a
Parquet file with a timestamp column is not dead-lettered row by row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.sinks import open_sink
from ingest.sources.jsonready import json_ready
from tests.jobs.helpers import ingest, summary_of


def _parquet(path: Path) -> Path:
    utc = dt.UTC
    pq.write_table(pa.table({
        "id": ["a", "b", "c"],
        "at": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123000), None, dt.datetime(2024, 3, 4)], pa.timestamp("ms")),
        "day": pa.array([dt.date(2024, 1, 2)] * 3),
        "price": pa.array([Decimal("1.50"), Decimal("2.25"), None], pa.decimal128(5, 2)),
        "meta": pa.array([{"seen": dt.datetime(2024, 1, 1, tzinfo=utc)}, None, {"seen": None}],
                         pa.struct([("seen", pa.timestamp("us", "UTC"))])),
    }), path)
    return path


def test_parquet_timestamps_index_as_dates_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    src = _parquet(tmp_path / "ts.parquet")
    proc = ingest("run", "--source", str(src), "--index", "events", "--id-field", "id", env={"INGEST_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    summary = summary_of(proc)
    assert summary["indexed"] == 3 and summary["failed"] == 0
    monkeypatch.setenv("INGEST_HOME", str(home))
    store = open_sink("embedded")
    try:
        doc = store.get("events", "a")  # type: ignore[attr-defined]
        properties = store.properties("events")  # type: ignore[attr-defined]
    finally:
        store.close()
    assert doc == {"id": "a", "at": "2024-01-02T03:04:05.123", "day": "2024-01-02", "price": 1.5,
                   "meta": {"seen": "2024-01-01T00:00:00.000000Z"}}
    assert properties["at"]["type"] == "date" and properties["day"]["type"] == "date"
    assert properties["meta"]["properties"]["seen"]["type"] == "date"


def test_nested_and_sliced_columns_are_converted() -> None:
    batch = pa.RecordBatch.from_arrays([
        pa.array([[Decimal("1")], [Decimal("2"), Decimal("3")], None, []], pa.list_(pa.decimal128(5, 2))),
        pa.array([{"t": dt.time(1, 2, 3)}, None, {"t": None}, {"t": dt.time(4, 5, 6)}], pa.struct([("t", pa.time32("s"))])),
    ], names=["prices", "when"])
    assert json_ready(batch.slice(1)).to_pylist() == [
        {"prices": [2.0, 3.0], "when": None},
        {"prices": None, "when": {"t": None}},
        {"prices": [], "when": {"t": "04:05:06"}},
    ]


def test_a_batch_without_such_values_is_returned_as_is() -> None:
    batch = pa.RecordBatch.from_pylist([{"n": 1, "s": {"x": [1.5]}}])
    assert json_ready(batch) is batch
