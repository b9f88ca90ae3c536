"""Arrow values JSON has no type for, turned into what the official Python client sends for them.

Every source's batches go through :func:`json_ready` once, before the pipeline (``jobs.stages.prepare_batch``,
on the local runner and on Ray workers alike): a Parquet timestamp column, a pandas ``datetime64`` or a
``Decimal`` then indexes as Elasticsearch would index the client's JSON — ISO-8601 strings (mapped as
``date`` by dynamic mapping) and numbers — instead of being refused by the sink.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def json_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dates and times as ISO-8601 strings and decimals as floats, at any depth (inside structs and lists), as the
    official client serialises ``datetime``, ``date``, ``time`` and ``Decimal`` values. Aware timestamps are
    written in UTC with ``Z``; sub-second digits are kept. A batch with nothing to convert is returned as is."""
    columns = [_ready(column) for column in batch.columns]
    if all(new is None for new in columns):
        return batch
    arrays = [new if new is not None else old for new, old in zip(columns, batch.columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _ready(array: pa.Array) -> pa.Array | None:
    """The converted array, or None when nothing in it needs converting."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            array = array.cast(pa.timestamp(kind.unit, "UTC"))
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S" + ("Z" if kind.tz is not None else ""))
    if pa.types.is_date(kind):
        return pc.strftime(array, format="%Y-%m-%d")
    if pa.types.is_time(kind):
        return array.cast(pa.string())
    if pa.types.is_decimal(kind):
        return array.cast(pa.float64())
    if pa.types.is_struct(kind):
        children = [array.field(i) for i in range(kind.num_fields)]
        ready = [_ready(child) for child in children]
        if all(new is None for new in ready):
            return None
        fields = [kind.field(i) for i in range(kind.num_fields)]
        arrays = [new if new is not None else old for new, old in zip(ready, children, strict=True)]
        return pa.StructArray.from_arrays(arrays, names=[f.name for f in fields], mask=array.is_null())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # A sliced list array shares its parent's values: rebase the offsets on the slice's own values.
        offsets = array.offsets
        first, last = offsets[0].as_py(), offsets[-1].as_py()
        values = _ready(array.values.slice(first, last - first))
        if values is None:
            return None
        build = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        return build.from_arrays(pc.subtract(offsets, first), values, mask=array.is_null())
    return None
