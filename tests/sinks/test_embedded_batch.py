"""The embedded store's batch write (``write_batch``) answers and stores exactly what ``write`` of the same
actions does, and takes its column-wise path only where it may."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ingest.sinks.base import BulkAction, BulkOp, FieldHint, ItemResult
from ingest.sinks.embedded import EmbeddedStore
from ingest.sinks.rows import present, to_rows


class Pair:
    """Two stores fed the same batches: one by ``write_batch``, one by ``write``; counts the fallbacks."""

    def __init__(self, folder: Path) -> None:
        self.batch = EmbeddedStore(folder / "batch.duckdb")
        self.actions = EmbeddedStore(folder / "actions.duckdb")
        self.fallbacks = 0
        original = self.batch.write

        def counting(actions: list[BulkAction]) -> list[ItemResult]:
            self.fallbacks += 1
            return original(actions)

        self.batch.write = counting  # type: ignore[method-assign]

    def ensure(self, index: str, hints: dict[str, FieldHint]) -> None:
        self.batch.ensure_index(index, hints)
        self.actions.ensure_index(index, hints)

    def put(self, index: str, rows: list[dict[str, Any]] | pa.Table, ids: list[str], op: BulkOp = "index",
            *, fast: bool) -> list[ItemResult]:
        table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
        before = self.fallbacks
        got = self.batch.write_batch(index, table, ids, op)
        want = self.actions.write([BulkAction(op, index, i, present(d)) for i, d in zip(ids, to_rows(table), strict=True)])
        assert got == want
        assert (self.fallbacks == before) is fast, "column-wise path taken" if not fast else "fell back"
        ids_all = sorted(set(ids))
        assert self.batch.fetch(index, ids_all) == self.actions.fetch(index, ids_all)
        assert self.batch.properties(index) == self.actions.properties(index)
        return got


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    yield p
    p.batch.close()
    p.actions.close()


def _logs(lo: int, hi: int) -> list[dict[str, Any]]:
    return [{"msg": f"GET /{i} \u00e9\"\\\n", "status": 200 + i % 3, "ok": i % 2 == 0, "ratio": i / 7,
             "meta": {"host": f"h{i % 3}", "tags": ["a", None, "b"], "port": None}, "big": 1e20}
            for i in range(lo, hi)]


def test_first_batch_maps_then_batches_go_column_wise(pair: Pair) -> None:
    pair.ensure("logs", {})
    pair.put("logs", _logs(0, 50), [f"d{i}" for i in range(50)], fast=False)  # the mapping is made per document
    created = pair.put("logs", _logs(50, 100), [f"d{i}" for i in range(50, 100)], fast=True)
    assert {(r.status, r.result, r.version) for r in created} == {(201, "created", 1)}
    again = pair.put("logs", _logs(90, 110), [f"d{i}" for i in range(90, 110)], fast=True)
    assert [(r.status, r.result, r.version) for r in again[:10]] == [(200, "updated", 2)] * 10
    assert [(r.status, r.result, r.version) for r in again[10:]] == [(201, "created", 1)] * 10
    assert pair.batch.count("logs") == 110
    stored = pair.batch.get("logs", "d60")
    assert stored is not None and stored["msg"] == "GET /60 \u00e9\"\\\n" and stored["meta"]["port"] is None


def test_absent_fields_are_left_out(pair: Pair) -> None:
    pair.ensure("a", {})
    pair.put("a", [{"x": 1, "y": "s"}], ["1"], fast=False)
    pair.put("a", [{"x": 2}, {"y": "t"}], ["2", "3"], fast=True)
    assert pair.batch.get("a", "2") == {"x": 2}


def test_what_the_mapping_must_decide_falls_back(pair: Pair) -> None:
    pair.ensure("m", {})
    pair.put("m", [{"n": 1, "s": "x", "f": 1.5, "o": {"k": "v"}}], ["0"], fast=False)
    pair.put("m", [{"n": 2, "s": "y", "f": 2.5, "o": {"k": "w"}}], ["1"], fast=True)
    pair.put("m", [{"n": 3, "new": True}], ["2"], fast=False)  # a new field
    refused = pair.put("m", [{"n": "abc"}, {"n": "7"}], ["3", "4"], fast=False)  # strings into a long
    assert refused[0].status == 400 and refused[0].error and refused[0].error["type"] == "document_parsing_exception"
    assert refused[1].status == 201  # coerced, as Elasticsearch does
    nan = pair.put("m", [{"f": math.nan}, {"f": 1.0}], ["5", "6"], fast=False)
    assert nan[0].status == 400 and nan[1].status == 201
    pair.put("m", [{"o": "flat"}], ["7"], fast=False)  # a value where an object is mapped
    pair.put("m", [{"s": 5}, {"f": 3}], ["8", "9"], fast=True)  # any scalar goes into text; ints into float
    pair.put("m", [{"n": 1.5}], ["10"], fast=True)  # a float into a long: accepted (coerce)
    pair.put("m", [{"n": 2.0**63}], ["11"], fast=False)  # out of a long's range


def test_ids_and_ops_that_need_per_item_answers_fall_back(pair: Pair) -> None:
    pair.ensure("i", {})
    pair.put("i", [{"a": 1}], ["x"], fast=False)
    pair.put("i", [{"a": 1}, {"a": 2}], ["y", "y"], fast=False)  # a repeated id applies in order
    conflict = pair.put("i", [{"a": 3}, {"a": 4}], ["y", "z"], "create", fast=False)
    assert [r.status for r in conflict] == [409, 201]
    pair.put("i", [{"a": 5}], ["w"], "create", fast=True)
    pair.put("i", [{"a": 6}], ["x" * 513], fast=False)  # too long an id: refused per item
    pair.put("i", [{"a": 7}], ["v"], fast=True)


def test_vectors_go_to_their_columns(pair: Pair) -> None:
    pair.ensure("v", {"emb": FieldHint("dense", 3, "cosine"), "sp": FieldHint("sparse")})
    sparse = pa.map_(pa.string(), pa.float32())

    def table(rows: list[tuple[str, list[float] | None, dict[str, float] | None]]) -> pa.Table:
        return pa.table({
            "t": [t for t, _, _ in rows],
            "emb": pa.array([e for _, e, _ in rows], pa.list_(pa.float32())),
            "sp": pa.array([None if s is None else list(s.items()) for _, _, s in rows], sparse),
        })

    pair.put("v", table([("a", [0.1, 0.2, 0.3], {"k": 1.5})]), ["1"], fast=False)
    pair.put("v", table([("b", [1.0, 0.0, 0.5], {"k": 0.25, "j": 2.0}), ("c", None, None)]), ["2", "3"], fast=True)
    stored = pair.batch.get("v", "2")
    assert stored == {"t": "b", "emb": [1.0, 0.0, 0.5], "sp": {"k": 0.25, "j": 2.0}}
    wrong = pair.put("v", table([("d", [1.0, 2.0], None), ("e", [1.0, 2.0, 3.0], None)]), ["4", "5"], fast=False)
    assert wrong[0].status == 400 and "different number of dimensions" in str(wrong[0].error)
    inf = pair.put("v", table([("f", [math.inf, 0.0, 0.0], None)]), ["6"], fast=False)
    assert inf[0].status == 400
    hits = pair.batch.search("v", "emb", [1.0, 0.0, 0.5], 1)
    assert hits[0]["_id"] == "2"


def test_float32_fields_keep_their_float64_text(pair: Pair) -> None:
    pair.ensure("f", {})
    rows = pa.table({"x": pa.array([0.1, 2.5], pa.float32()), "s": pa.array([{"y": 0.3}, None],
                                                                              pa.struct([("y", pa.float32())]))})
    pair.put("f", rows, ["1", "2"], fast=False)
    pair.put("f", rows, ["3", "4"], fast=True)
    assert pair.batch.get("f", "3") == pair.batch.get("f", "1")


def test_types_without_one_json_form_fall_back(pair: Pair) -> None:
    pair.ensure("t", {})
    rows = pa.table({"when": pa.array([0, 1], pa.timestamp("s")), "n": [1, 2]})
    pair.put("t", rows, ["1", "2"], fast=False)
    pair.put("t", rows, ["3", "4"], fast=False)  # timestamps: the per-action path writes their ISO text
    pair.put("t", [{"a.b": 1}], ["5"], fast=False)
    pair.put("t", [{"a.b": 2}], ["6"], fast=False)  # dotted names are objects to the mapping


def test_an_index_not_created_yet_is_created_per_action(pair: Pair) -> None:
    got = pair.put("fresh", [{"a": 1}], ["1"], fast=False)
    assert got[0].status == 201 and pair.batch.index_exists("fresh")


def test_a_statement_duckdb_refuses_is_rolled_back_and_answered_per_action(pair: Pair,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    import ingest.sinks.embedded.store as store_module

    pair.ensure("r", {})
    pair.put("r", [{"a": 1}], ["1"], fast=False)
    real = store_module.insert_batch

    def half_then_refused(*args: Any) -> None:
        real(*args)  # rows inserted, then the statement after them fails: the transaction must roll back
        raise duckdb.ConversionException("refused")

    monkeypatch.setattr(store_module, "insert_batch", half_then_refused)
    got = pair.put("r", [{"a": 2}, {"a": 3}], ["1", "2"], fast=False)
    assert [(r.status, r.version) for r in got] == [(200, 2), (201, 1)]
    assert pair.batch.count("r") == 2
