"""Kafka messages → one Arrow record batch, with each message's metadata under ``_ingest.kafka``.

A message becomes a document: its value as a JSON object (``value_format=json``) or as a string in one field
(``value_format=string``), plus ``_ingest: {kafka: {topic, partition, offset, timestamp, key, headers}}``,
which the pipeline reads as ``_ingest.kafka.*`` and which is never indexed, and ``_id``
``<topic>-<partition>-<offset>`` unless ids come from a field. A value that is not valid UTF-8 / JSON / an object,
and a null value (a tombstone), is a ``SourceError`` located ``<topic>/<partition>/<offset>`` with its raw
bytes, for the dead-letter store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from ingest.sources.base import SourceError
from ingest.sources.rows import LazyList, parse_line, to_batches


class Message(Protocol):
    """The parts of ``confluent_kafka.Message`` read here."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def value(self) -> bytes | None: ...
    def key(self) -> bytes | None: ...
    def headers(self) -> list[tuple[str, bytes | None]] | None: ...
    def timestamp(self) -> tuple[int, int]: ...


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="backslashreplace")


def metadata(msg: Message) -> dict[str, Any]:
    """``_ingest.kafka`` of one message: key and header values as text (invalid bytes escaped as \\xNN)."""
    kind, stamp = msg.timestamp()
    meta: dict[str, Any] = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
    if kind != 0:  # 0: TIMESTAMP_NOT_AVAILABLE
        meta["timestamp"] = stamp
    if msg.key() is not None:
        meta["key"] = _text(msg.key())
    headers = msg.headers()
    if headers:
        # A repeated header keeps its last value, as Kafka's Headers.lastHeader does.
        meta["headers"] = {name: _text(value) for name, value in headers}
    return meta


def location(msg: Message) -> str:
    """Where a message is: ``topic/partition/offset``."""
    return f"{msg.topic()}/{msg.partition()}/{msg.offset()}"


def message_id(msg: Message) -> str:
    """The deterministic document id ``topic-partition-offset`` (Kafka Connect's scheme)."""
    return f"{msg.topic()}-{msg.partition()}-{msg.offset()}"


def _document(msg: Message, value_format: str, value_field: str) -> dict[str, Any] | SourceError:
    raw = msg.value()
    if raw is None:
        return SourceError(location(msg), b"", "the message has a null value (a tombstone); there is no document to index")
    if value_format == "string":
        try:
            return {value_field: raw.decode("utf-8")}
        except UnicodeDecodeError as exc:
            return SourceError(location(msg), raw, f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
    parsed = parse_line(raw, "")  # located below, only if it is an error
    if parsed is None:
        return SourceError(location(msg), raw, "the message value is empty; expected a JSON object")
    if isinstance(parsed, SourceError):
        return dataclasses.replace(parsed, location=location(msg))
    return parsed


def _metadata_column(kept: Sequence[Message]) -> pa.StructArray:
    """``{kafka: {...}}`` per message, built from typed columns (inferring a struct per row costs more)."""
    stamps = [m.timestamp() for m in kept]
    fields: dict[str, pa.Array] = {
        "topic": pa.array([m.topic() for m in kept], pa.string()),
        "partition": pa.array([m.partition() for m in kept], pa.int64()),
        "offset": pa.array([m.offset() for m in kept], pa.int64()),
        "timestamp": pa.array([stamp if kind != 0 else None for kind, stamp in stamps], pa.int64()),
        "key": pa.array([_text(m.key()) for m in kept], pa.string()),
    }
    headers = [m.headers() for m in kept]
    if any(headers):
        # A repeated header keeps its last value, as Kafka's Headers.lastHeader does.
        fields["headers"] = pa.array([{n: _text(v) for n, v in h} if h else None for h in headers])
    kafka = pa.StructArray.from_arrays(list(fields.values()), list(fields))
    return pa.StructArray.from_arrays([kafka], ["kafka"])


def to_source_batches(messages: Sequence[Message], *, value_format: str = "json", value_field: str = "message",
                      with_ids: bool = True) -> list[tuple[pa.RecordBatch, int, list[SourceError]]]:
    """The documents of ``messages`` as record batches in order — one per run of documents whose field types
    agree (see ``rows.to_batches``) — each with the number of messages consumed up to its end and the messages
    in that stretch that are not documents."""
    docs: list[dict[str, Any]] = []
    raws: list[bytes] = []
    kept: list[Message] = []
    errors: list[SourceError] = []
    for msg in messages:
        doc = _document(msg, value_format, value_field)
        if isinstance(doc, SourceError):
            errors.append(doc)
            continue
        docs.append(doc)
        raws.append(msg.value() or b"")
        kept.append(msg)
    runs, bad = to_batches(docs, raws, LazyList(kept, location))
    dropped = {e.location for e in bad}
    order: dict[str, int] = {}

    def at(where: str) -> int:
        """A message's place in ``messages`` (to give each run its stretch), indexed on first need: a lone
        run without errors needs none."""
        if not order:
            order.update({location(m): i for i, m in enumerate(messages)})
        return order[where]

    out: list[tuple[pa.RecordBatch, int, list[SourceError]]] = []
    start = done = 0
    for n, (batch, end) in enumerate(runs):
        last = n == len(runs) - 1
        # The run's stretch of messages ends at its last document (all remaining messages for the last run):
        # a message that is not a document is dead-lettered with the run whose stretch holds it, so that no
        # offset is committed past a message before its dead letter is written.
        upto = len(messages) if last or end == 0 else at(location(kept[end - 1])) + 1
        members = [m for m in kept[start:end] if location(m) not in dropped] if dropped else kept[start:end]
        # A value's own _ingest / _id fields are replaced, as the metadata and ids of the message win.
        batch = batch.drop_columns([c for c in ("_ingest", "_id") if c in batch.schema.names])
        columns, names = list(batch.columns), list(batch.schema.names)
        columns.append(_metadata_column(members))
        names.append("_ingest")
        if with_ids:
            columns.append(pa.array([message_id(m) for m in members], pa.string()))
            names.append("_id")
        stretch = [e for e in errors + bad if done <= at(e.location) < upto]
        out.append((pa.RecordBatch.from_arrays(columns, names=names), upto, stretch))
        start, done = end, upto
    return out
