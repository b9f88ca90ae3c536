"""Kafka messages → batches: JSON or string values, _ingest.kafka metadata for pipelines, ids, poison messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest.processors.pipeline import Pipeline, parse_pipeline
from ingest.sources.kafka.ledger import Ledger
from ingest.sources.kafka.messages import to_source_batches


@dataclass
class Msg:
    """The parts of confluent_kafka.Message the source reads."""

    _value: bytes | None
    _offset: int
    _partition: int = 0
    _topic: str = "orders"
    _key: bytes | None = None
    _headers: list[tuple[str, bytes | None]] | None = field(default=None)
    _ts: tuple[int, int] = (1, 1_700_000_000_000)

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return self._ts


def to_source_batch(msgs: list, **kwargs: Any) -> tuple:
    """The one run that messages whose field types agree make."""
    runs = to_source_batches(msgs, **kwargs)
    assert len(runs) == 1 and runs[0][1] == len(msgs)
    return runs[0][0], runs[0][2]


def test_a_field_changing_type_starts_a_new_run_and_errors_stay_in_their_stretch() -> None:
    msgs = [Msg(b'{"n": "a"}', 0), Msg(b"{broken", 1), Msg(b'{"n": "b"}', 2), Msg(b'{"n": 3}', 3), Msg(b"[", 4)]
    runs = to_source_batches(msgs)
    assert [(batch.to_pylist()[0]["n"], upto) for batch, upto, _ in runs] == [("a", 3), (3, 5)]
    assert [[e.location for e in errors] for *_b, errors in runs] == [["orders/0/1"], ["orders/0/4"]]
    assert [r["_id"] for r in runs[0][0].to_pylist()] == ["orders-0-0", "orders-0-2"]


def test_json_values_metadata_and_ids() -> None:
    msgs = [Msg(b'{"n": 1}', 7, 2, _key=b"k1", _headers=[("trace", b"abc"), ("trace", b"xyz")]),
            Msg(b'{"n": 2, "text": "x"}', 8, 2)]
    batch, errors = to_source_batch(msgs)
    assert not errors
    rows = batch.to_pylist()
    assert [r["_id"] for r in rows] == ["orders-2-7", "orders-2-8"]
    assert rows[0]["_ingest"]["kafka"] == {"topic": "orders", "partition": 2, "offset": 7,
                                           "timestamp": 1_700_000_000_000, "key": "k1", "headers": {"trace": "xyz"}}
    assert rows[1]["n"] == 2 and rows[1]["text"] == "x"


def test_ids_from_a_field_leave_no_id_column() -> None:
    batch, _ = to_source_batch([Msg(b'{"order": "A"}', 1)], with_ids=False)
    assert "_id" not in batch.schema.names


def test_string_values_go_into_one_field() -> None:
    batch, errors = to_source_batch([Msg(b"plain log line", 3), Msg(b"\xff\xfe", 4)], value_format="string",
                                    value_field="line")
    assert batch.to_pylist()[0]["line"] == "plain log line"
    assert len(errors) == 1 and errors[0].location == "orders/0/4" and "invalid UTF-8" in errors[0].reason


def test_poison_messages_become_located_errors_with_raw_bytes() -> None:
    msgs = [Msg(b'{"ok": 1}', 0), Msg(b"{broken", 1), Msg(b"[1, 2]", 2), Msg(None, 3), Msg(b"", 4),
            Msg(b'\xc3\x28', 5)]
    batch, errors = to_source_batch(msgs)
    assert batch.num_rows == 1
    by_loc = {e.location: e for e in errors}
    assert set(by_loc) == {"orders/0/1", "orders/0/2", "orders/0/3", "orders/0/4", "orders/0/5"}
    assert by_loc["orders/0/1"].raw == b"{broken" and "invalid JSON" in by_loc["orders/0/1"].reason
    assert "must be a JSON object" in by_loc["orders/0/2"].reason
    assert "tombstone" in by_loc["orders/0/3"].reason
    assert "empty" in by_loc["orders/0/4"].reason
    assert "invalid UTF-8" in by_loc["orders/0/5"].reason


def _pipeline(processors: list[dict]) -> Pipeline:
    return parse_pipeline("kafka-test", {"processors": processors})


def test_pipeline_reads_ingest_kafka_and_it_is_not_output() -> None:
    batch, _ = to_source_batch([Msg(b'{"n": 1}', 5, 1, _key=b"user-9"), Msg(b'{"n": 2}', 6, 1)])
    pipeline = _pipeline([
        {"set": {"field": "origin", "value": "{{_ingest.kafka.topic}}/{{_ingest.kafka.partition}}@{{_ingest.kafka.offset}}"}},
        {"set": {"field": "user", "value": "{{_ingest.kafka.key}}", "ignore_empty_value": True}},
    ])
    result = pipeline.run(batch.drop_columns(["_id"]))
    rows = result.table.to_pylist()
    assert [r["origin"] for r in rows] == ["orders/1@5", "orders/1@6"]
    assert rows[0]["user"] == "user-9" and rows[1].get("user") is None
    assert "_ingest" not in result.table.schema.names


def test_columnar_only_pipeline_drops_the_metadata_column() -> None:
    batch, _ = to_source_batch([Msg(b'{"text": "Hello"}', 0)])
    result = _pipeline([{"lowercase": {"field": "text"}}]).run(batch.drop_columns(["_id"]))
    assert result.table.to_pylist() == [{"text": "hello"}]


def test_ledger_commits_only_acknowledged_offsets_in_order() -> None:
    ledger = Ledger()
    p1 = ledger.advance({"t:0": 10})
    p2 = ledger.advance({"t:1": 5})
    assert p2["offsets"] == {"t:0": 10, "t:1": 5} and ledger.in_flight() == 2
    assert ledger.to_commit() is None and not ledger.wait_drained(0.01)
    ledger.acknowledged(p1)
    assert ledger.to_commit() == {"t:0": 10} and ledger.to_commit() is None
    ledger.acknowledged(p2)
    ledger.acknowledged(p1)  # a late, older acknowledgement never moves offsets back
    assert ledger.to_commit() == {"t:0": 10, "t:1": 5} and ledger.wait_drained(0.01)
    ledger.forget(["t:0"])
    assert ledger.advance({"t:1": 6})["offsets"] == {"t:1": 6}


def test_json_round_trip_of_positions() -> None:
    ledger = Ledger()
    position = json.loads(json.dumps(ledger.advance({"a.b-c:3": 1})))
    ledger.acknowledged(position)
    assert ledger.to_commit() == {"a.b-c:3": 1}
