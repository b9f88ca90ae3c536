"""In-memory sources (``ingest.run_job``'s data): batches, positions and resume, rows Arrow cannot hold."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from ingest.models.errors import IllegalArgumentException
from ingest.sources.base import Source
from ingest.sources.jsonready import json_ready
from ingest.sources.memory import ArrowSource, DictsSource, check_id_field, open_memory_source


def _rows(source: Source, resume_from: dict[str, Any] | None = None) -> tuple[list[Any], list[str], list[dict[str, Any]]]:
    values: list[Any] = []
    errors: list[str] = []
    positions: list[dict[str, Any]] = []
    for sb in source.batches(resume_from):
        values += sb.batch.column("n").to_pylist() if sb.batch.num_rows else []
        errors += [e.location for e in sb.errors]
        positions.append(sb.position)
    return values, errors, positions


@pytest.mark.parametrize("make", [
    lambda: ArrowSource(pa.table({"n": list(range(7))}), batch_size=3),
    lambda: ArrowSource(pa.table({"n": list(range(7))}).to_reader(max_chunksize=2), batch_size=3),
    lambda: DictsSource([{"n": i} for i in range(7)], batch_size=3),
    lambda: DictsSource(({"n": i} for i in range(7)), batch_size=3),
], ids=["table", "reader", "list", "generator"])
def test_every_row_once_and_a_resume_continues_after_the_last_position(make: Any) -> None:
    values, errors, positions = _rows(make())
    assert (values, errors) == (list(range(7)), [])
    assert positions[-1] == {"rows": 7}
    middle = positions[len(positions) // 2 - 1]
    rest, _, _ = _rows(make(), middle)
    assert rest == list(range(middle["rows"], 7))


def test_rows_that_are_not_objects_or_that_arrow_cannot_hold_are_errors_and_clashing_rows_are_kept() -> None:
    docs: list[Any] = [{"n": 1}, "text", {"n": "one"}, {"n": [1, "a"]}, {"n": 2}]
    values, errors, positions = _rows(DictsSource(docs, batch_size=10))
    assert sorted(map(str, values)) == ["1", "2", "one"]
    assert sorted(errors) == ["document 1", "document 3"]
    assert positions[-1] == {"rows": 5}
    assert all(p["rows"] in (0, 5) for p in positions)  # a split chunk only moves past itself at its end


def test_dataframes_are_recognised_without_importing_their_library() -> None:
    pd = pytest.importorskip("pandas")
    source = open_memory_source(pd.DataFrame({"n": [1, 2]}, index=["x", "y"]))
    assert isinstance(source, ArrowSource)
    assert source.schema.names == ["n"]
    assert isinstance(open_memory_source(pd.DataFrame({"n": [1, "a"]})), DictsSource)


def test_id_field_checks() -> None:
    schema = pa.schema([("id", pa.int64()), ("key", pa.float64()), ("meta", pa.struct([("id", pa.string())]))])
    check_id_field(schema, "id")
    check_id_field(schema, "meta.id")
    with pytest.raises(IllegalArgumentException, match=r"\[key\] is of type \[double\]"):
        check_id_field(schema, "key")
    with pytest.raises(IllegalArgumentException, match=r"field \[id\] is of type \[int64\], not an object"):
        check_id_field(schema, "id.x")


def test_dates_times_and_decimals_become_what_the_official_client_would_send() -> None:
    import datetime as dt
    from decimal import Decimal

    table = pa.table({
        "naive": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123000)], pa.timestamp("us")),
        "aware": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))],
                          pa.timestamp("ms", tz="+02:00")),
        "day": pa.array([dt.date(2024, 1, 2)]),
        "price": pa.array([Decimal("1.25")]),
        "n": [1],
    })
    [batch] = [json_ready(sb.batch) for sb in ArrowSource(table).batches()]
    assert batch.to_pylist() == [{"naive": "2024-01-02T03:04:05.123000", "aware": "2024-01-02T01:04:05.000Z",
                                  "day": "2024-01-02", "price": 1.25, "n": 1}]
    [from_dicts] = [json_ready(sb.batch) for sb in DictsSource([{"at": dt.datetime(2024, 5, 6, 7, 8, 9), "n": 2}]).batches()]
    assert from_dicts.to_pylist() == [{"at": "2024-05-06T07:08:09.000000", "n": 2}]
