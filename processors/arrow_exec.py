"""Running a pipeline on Arrow: columnar fast paths where a processor has one, documents otherwise.

Processors run in order. While every document is still alive and unchanged in shape, each processor is offered
the whole table (``Processor.columnar``); it answers with a new table or None, and None sends the batch
through the per-document engine for the following processors up to the next one with a columnar path. Once
some document has failed or been dropped, the rest of the pipeline runs per document.

Arrow has no "missing field": a null value is read as an absent field, and absent fields are written as nulls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import ExecEnv, Processor, SecurityUser, StoredSources
from ingest.processors.document import IngestDocument
from ingest.processors.engine import run_compound, run_on_failure
from ingest.processors.metrics import Measure, ProcessorMeter, ProcessorStatsSink


class ArrowRunnable(Protocol):
    """What running on Arrow needs from a pipeline (``ingest.processors.pipeline.Pipeline``, which calls
    :func:`run_arrow`; a protocol so that this module does not import it back)."""

    @property
    def id(self) -> str:
        """The pipeline's id (``_ingest.pipeline``)."""

    @property
    def processors(self) -> list[Processor]:
        """The processors, in order."""

    @property
    def on_failure(self) -> list[Processor]:
        """The pipeline's own failure handlers."""

    def env(self, stored: StoredSources | None = None, user: SecurityUser | None = None) -> ExecEnv:
        """The execution environment of one run."""

    def output_hints(self) -> dict[str, str]:
        """Model output columns (here and in called pipelines) and their kind, ``dense`` or ``sparse``."""


@dataclass
class DocOutcome:
    """What happened to one input document."""

    status: str  # "indexed" | "dropped" | "failed"
    error: ElasticsearchError | None = None


@dataclass
class PipelineResult:
    """Documents to index (input order), the input row of each, and one outcome per input row."""

    table: pa.Table
    source_rows: list[int]
    outcomes: list[DocOutcome]


INGEST_COLUMN = "_ingest"


def ingest_timestamp() -> str:
    """``_ingest.timestamp``: now, ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _try_columnar(proc: Processor, table: pa.Table, env: ExecEnv | None = None,
                  measure: Measure | None = None) -> pa.Table | None:
    """The processor's columnar result, or None (also when the fast path trips: the slow path then decides).
    ``measure.counted`` is cleared when the processor did not run on the rows (None, or ``if`` false for all)."""
    if measure is not None:
        measure.counted = False
    if not _has_columnar(proc):
        return None
    try:
        condition = proc.common.condition
        if condition is not None:
            # A condition evaluated over the columns: all true runs the fast path, all false skips the processor,
            # a mix goes per document.
            mask = condition.columnar_mask(table)  # type: ignore[attr-defined]
            if mask is None:
                return None
            if not pc.any(mask).as_py():
                return table
            if not pc.all(mask).as_py():
                return None
        out = proc.columnar(table, env)
    except (pa.ArrowException, ValueError, TypeError, KeyError, OverflowError):
        return None
    if measure is not None:
        measure.counted = out is not None
    return out


def _measured_columnar(proc: Processor, table: pa.Table, env: ExecEnv) -> pa.Table | None:
    """``_try_columnar`` with the processor's counters: every row, or none when its ``if`` held for none (the
    columnar path never fails a document: it hands the batch back instead)."""
    if env.meter is None or not _has_columnar(proc):
        return _try_columnar(proc, table, env)
    with env.meter.measure(proc, table.num_rows) as measure:
        return _try_columnar(proc, table, env, measure)


def _has_columnar(proc: Processor) -> bool:
    if type(proc).columnar is Processor.columnar:
        return False
    condition = proc.common.condition
    return condition is None or getattr(condition, "columnar_mask", None) is not None


def run_arrow(pipeline: ArrowRunnable, data: pa.RecordBatch | pa.Table, *, columnar: bool = True,
              stored: StoredSources | None = None, user: SecurityUser | None = None,
              stats: ProcessorStatsSink | None = None) -> PipelineResult:
    """Run ``pipeline`` over a batch; ``columnar=False`` forces the per-document path; ``stats`` receives
    per-processor counts (``ingest.processors.metrics``)."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    carried: list[Any] | None = None
    if INGEST_COLUMN in table.schema.names:
        # A source's per-document metadata (e.g. Kafka's topic and offset): readable as _ingest.*, never output.
        carried = table.column(INGEST_COLUMN).to_pylist()
        table = table.drop_columns([INGEST_COLUMN])
    n = table.num_rows
    procs = pipeline.processors
    env = pipeline.env(stored, user)
    if stats is not None:
        env.meter = ProcessorMeter(pipeline.id, stats, procs)
    docs: list[IngestDocument] | None = None
    finished: dict[int, DocOutcome] = {}
    i = 0
    while i < len(procs):
        if docs is None:
            out = _measured_columnar(procs[i], table, env) if columnar else None
            if out is not None:
                table = out
                i += 1
                continue
            docs = table_to_docs(table, ingest_timestamp(), carried)
            for doc in docs:
                doc.pipeline_stack.append(pipeline.id)
                doc.ingest["pipeline"] = pipeline.id
        j = i + 1
        while j < len(procs) and not (columnar and _has_columnar(procs[j])):
            j += 1
        live = [k for k in range(n) if k not in finished]
        batch = [docs[k] for k in live]
        failures = run_compound(procs[i:j], [], batch, env)
        failed = [(k, f) for k, f in zip(live, failures, strict=True) if f is not None]
        if failed and pipeline.on_failure:
            handled = run_on_failure(pipeline.on_failure, [docs[k] for k, _ in failed], [f for _, f in failed], env)
            for (k, _), f in zip(failed, handled, strict=True):
                finished[k] = DocOutcome("failed", f.error) if f is not None else _settled(docs[k])
        else:
            for k, f in failed:
                finished[k] = DocOutcome("failed", f.error)
        for k in live:
            if k not in finished and (docs[k].dropped or docs[k].terminated):
                finished[k] = _settled(docs[k])
        if not finished and j < len(procs):
            try:
                table = docs_to_table(docs, table.schema, pipeline.output_hints(), strict=True)
                docs = None
            except _MixedTypes:
                pass  # a field holds several types: stay per document, where that is representable
        elif finished and j < len(procs):
            # Some documents are settled: the remaining processors run per document on the live ones.
            live = [k for k in range(n) if k not in finished]
            rest = run_compound(procs[j:], pipeline.on_failure, [docs[k] for k in live], env)
            for k, f in zip(live, rest, strict=True):
                if f is not None:
                    finished[k] = DocOutcome("failed", f.error)
            break
        i = j
    if docs is None:
        return PipelineResult(table, list(range(n)), [DocOutcome("indexed") for _ in range(n)])
    outcomes = [finished.get(k) or _settled(docs[k]) for k in range(n)]
    rows = [k for k in range(n) if outcomes[k].status == "indexed"]
    out_table = docs_to_table([docs[k] for k in rows], table.schema, pipeline.output_hints())
    return PipelineResult(out_table, rows, outcomes)


def _settled(doc: IngestDocument) -> DocOutcome:
    return DocOutcome("dropped") if doc.dropped else DocOutcome("indexed")


# --- conversions ---------------------------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """Arrow → JSON-like: nulls inside objects are absent fields; map arrays become dicts."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {k: _clean(v) for k, v in value}
        return [_clean(v) for v in value]
    return value


def table_to_docs(table: pa.Table, timestamp: str, ingest: list[Any] | None = None) -> list[IngestDocument]:
    """One IngestDocument per row; ``_index`` / ``_id`` / ``_routing`` columns become metadata; ``ingest`` (one
    object per row, or None) is added to each document's ``_ingest``."""
    docs = []
    for k, row in enumerate(table.to_pylist()):
        ctx = {k: _clean(v) for k, v in row.items() if v is not None}
        for key in ("_index", "_id", "_routing"):
            if key in ctx and not isinstance(ctx[key], str):
                ctx[key] = str(ctx[key])
        nulls = frozenset(k for k, v in row.items() if v is None)
        extra = _clean(ingest[k]) if ingest is not None and isinstance(ingest[k], dict) else {}
        docs.append(IngestDocument(ctx=ctx, ingest={**extra, "timestamp": timestamp}, null_fields=nulls))
    return docs


class _MixedTypes(Exception):
    """A field holds values of several types (only representable as JSON text)."""


def docs_to_table(docs: list[IngestDocument], schema: pa.Schema, hints: dict[str, str], *,
                  strict: bool = False) -> pa.Table:
    """Documents back to a table: input columns first (types kept when possible), new fields after.

    A field whose values have several types becomes a string column of JSON texts, or raises with ``strict``.
    """
    names: dict[str, None] = {}
    for name in schema.names:
        names[name] = None
    for doc in docs:
        for key in doc.ctx:
            names.setdefault(key, None)
    present = [n for n in names if any(n in d.ctx for d in docs)] if docs else list(schema.names)
    columns = []
    for name in present:
        values = [d.ctx.get(name) for d in docs]
        known = schema.field(name).type if name in schema.names else None
        columns.append(_column(values, known, hints.get(name), strict))
    if not present:  # documents without any field still count as rows
        return pa.Table.from_struct_array(pa.array([{}] * len(docs), type=pa.struct([])))
    return pa.table(columns, names=present)


def _column(values: list[Any], known: pa.DataType | None, hint: str | None, strict: bool = False) -> pa.Array:
    if hint == "dense":
        return _dense(values)
    if hint == "sparse":
        return pa.array([None if v is None else list(v.items()) for v in values],
                        type=pa.map_(pa.string(), pa.float32()))
    if known is not None and _fits(values, known):
        try:
            if pa.types.is_map(known):
                return pa.array([None if v is None else list(v.items()) for v in values], type=known)
            return pa.array(values, type=known)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, AttributeError, OverflowError):
            pass
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        if strict:
            raise _MixedTypes from None
        # Mixed types in one field: keep every value, as its JSON text.
        return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
                        type=pa.string())


def _fits(values: list[Any], known: pa.DataType) -> bool:
    """Whether the Python values are of the column's kind, all the way down.

    pyarrow would otherwise coerce (1 → "1") or, for structs, silently drop keys the type does not name,
    which would lose fields a processor just added (e.g. ``set`` on ``meta.added`` of a struct ``meta``).
    """
    present = [v for v in values if v is not None]
    if pa.types.is_string(known) or pa.types.is_large_string(known):
        return all(isinstance(v, str) for v in present)
    if pa.types.is_integer(known):
        return all(isinstance(v, int) and not isinstance(v, bool) for v in present)
    if pa.types.is_floating(known):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if pa.types.is_boolean(known):
        return all(isinstance(v, bool) for v in present)
    if pa.types.is_struct(known):
        if not all(isinstance(v, dict) for v in present):
            return False
        names = {known.field(i).name for i in range(known.num_fields)}
        if any(not set(v) <= names for v in present):
            return False
        return all(_fits([v.get(f.name) for v in present], f.type) for f in known)
    if pa.types.is_map(known):
        return all(isinstance(v, dict) for v in present) and _fits(
            [x for v in present for x in v.values()], known.item_type)
    if pa.types.is_list(known) or pa.types.is_large_list(known) or pa.types.is_fixed_size_list(known):
        if not all(isinstance(v, (list, np.ndarray)) for v in present):
            return False
        if pa.types.is_fixed_size_list(known) and any(len(v) != known.list_size for v in present):
            return False
        return all(isinstance(v, np.ndarray) for v in present) or _fits(
            [x for v in present if not isinstance(v, np.ndarray) for x in v], known.value_type)
    return True


def _dense(values: list[Any]) -> pa.Array:
    dims = {len(v) for v in values if v is not None and isinstance(v, (list, np.ndarray))}
    if len(dims) == 1 and all(v is None or isinstance(v, (list, np.ndarray)) for v in values):
        size = dims.pop()
        flat = np.zeros((len(values), size), dtype=np.float32)
        mask = np.zeros(len(values), dtype=bool)
        for k, v in enumerate(values):
            if v is None:
                mask[k] = True
            else:
                flat[k] = v
        arr = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), size)
        if mask.any():
            arr = pa.array([None if m else row for m, row in zip(mask, arr.to_pylist(), strict=True)],
                           type=arr.type)
        return arr
    try:
        return pa.array([None if v is None else np.asarray(v, dtype=np.float32) for v in values],
                        type=pa.list_(pa.float32()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return pa.array([None if v is None else json.dumps(v, default=float) for v in values], type=pa.string())
