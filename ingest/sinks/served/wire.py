"""What the home's CLI and its server say to each other beyond Elasticsearch's API (local client only).

- ``PIPELINES_DONE``: a ``_bulk`` header: the job ran every pipeline of its documents itself, the index's final
  pipeline included, so the server runs none (it is trusted only with the local token, from loopback).
- ``JOB_PATH``: a whole job (a file source) for the server to run with its store; progress streamed back.
- ``ARROW_PATH``: a job's batch of whole documents, still Arrow, for the server to hand to its store's
  ``write_batch`` exactly as a job alone would. The body is a 4-byte big-endian length, a JSON header
  (``{"index", "ids"}``) and an Arrow IPC stream of the documents (read without copying on the server); the
  answer is ``{"items": [[status, error, id, result, version, seq_no, primary_term], ...]}``, one per row.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pyarrow as pa

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import ItemResult

PIPELINES_DONE = "x-ingest-pipelines-done"
ARROW_PATH = "/_ingest_local/arrow_bulk"
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
ARROW_ACTION = "indices:data/write/bulk[local/arrow]"
_LENGTH = struct.Struct(">I")


def encode_batch(index: str, table: pa.Table | pa.RecordBatch, ids: list[str]) -> list[bytes | pa.Buffer]:
    """The request body of ``write_batch(index, table, ids)``, as parts to send one after the other (the Arrow
    buffer is not copied into one bytes object)."""
    header = json.dumps({"index": index, "ids": ids}, ensure_ascii=False).encode()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    return [_LENGTH.pack(len(header)) + header, sink.getvalue()]


def decode_batch(body: bytes) -> tuple[str, pa.Table, list[str]]:
    """``(index, table, ids)`` of a request body; a 400 for a body that is not one."""
    try:
        (length,) = _LENGTH.unpack_from(body, 0)
        header = json.loads(body[_LENGTH.size:_LENGTH.size + length])
        index, ids = header["index"], header["ids"]
        buffer = pa.py_buffer(body)[_LENGTH.size + length:]  # a view: the documents are not copied
        table = pa.ipc.open_stream(buffer).read_all()
    except (struct.error, ValueError, KeyError, TypeError, OSError, pa.ArrowException) as exc:  # OSError: truncated
        raise IllegalArgumentException(f"not an Arrow bulk body: {exc}") from None
    if not isinstance(index, str) or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise IllegalArgumentException("not an Arrow bulk body: [index] must be a string and [ids] strings")
    if len(ids) != table.num_rows:
        raise IllegalArgumentException(f"not an Arrow bulk body: {len(ids)} ids for {table.num_rows} documents")
    return index, table, ids


def encode_results(results: list[ItemResult]) -> bytes:
    """The answer to a batch: one row per item."""
    rows = [[r.status, r.error, r.id, r.result, r.version, r.seq_no, r.primary_term] for r in results]
    return json.dumps({"items": rows}, ensure_ascii=False).encode()


def decode_results(body: Any) -> list[ItemResult]:
    """The items of an answer (parsed JSON)."""
    return [ItemResult(int(s), e, id=i, result=r, version=v, seq_no=q, primary_term=t)
            for s, e, i, r, v, q, t in body["items"]]

# ``ingest run`` of a file with the home's server running: the server runs the whole job (``ingest.jobs.served``
# posts ``{"config": JobConfig fields, "source_path": absolute path}``; ``ingest.server.localjobs`` answers NDJSON
# events: ``progress`` lines, then one ``summary`` or ``error``).
JOB_PATH = "/_ingest_local/job"
JOB_ACTION = "cluster:admin/ingest/job[local]"

# ``ingest run --source -`` with the home's server running: the request body is the job's spec on its first line
# (``{"config": JobConfig fields}``) and then standard input's bytes as they come (chunked), which the server
# reads as the job's source (``ingest.server.streamjob``); the answer is the same NDJSON events as ``JOB_PATH``'s,
# streamed while the body still arrives. The body has no size limit (it is a stream, as standard input is).
JOB_STREAM_PATH = "/_ingest_local/job/stream"
# A graceful stop of a job the server runs (the CLI's SIGTERM/SIGINT to a Kafka job): ``{"job_id": ...}``.
JOB_STOP_PATH = "/_ingest_local/job/stop"
