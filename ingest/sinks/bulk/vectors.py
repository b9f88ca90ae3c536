"""Vector values of the sinks that store documents themselves: validation with Elasticsearch's messages and
Arrow arrays (dense: ``fixed_size_list<float32>``, sparse: ``map<string, float32>``). Values are float32, like
Elasticsearch's ``float`` element type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import FieldHint


class VectorError(ValueError):
    """A document's vector does not fit the field's mapping (becomes a document_parsing_exception)."""


def check_dense(path: str, value: Any, dims: int, doc_id: str) -> np.ndarray:
    """A dense vector as float32, or VectorError naming what is wrong."""
    if not isinstance(value, list | tuple | np.ndarray) or (len(value) and isinstance(value[0], bool | str)):
        raise VectorError(f"failed to parse field [{path}] of type [dense_vector] in document with id '{doc_id}'. "
                          f"Preview of field's value: '{str(value)[:40]}'")
    if len(value) != dims:
        raise VectorError(
            f"The [dense_vector] field [{path}] in doc [document with id '{doc_id}'] has a different number of "
            f"dimensions [{len(value)}] than defined in the mapping [{dims}]"
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise VectorError(f"failed to parse field [{path}] of type [dense_vector] in document with id "
                          f"'{doc_id}': {exc}") from None
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise VectorError(f"failed to parse field [{path}] of type [dense_vector] in document with id "
                          f"'{doc_id}': the vector must hold {dims} finite numbers")
    return arr.astype(np.float32)


def check_sparse(path: str, value: Any, doc_id: str) -> dict[str, float]:
    """A sparse vector as token → float, or VectorError."""
    if not isinstance(value, dict):
        raise VectorError(f"[sparse_vector] fields must be json objects, expected a START_OBJECT but got: "
                          f"{type(value).__name__} for field [{path}] in document with id '{doc_id}'")
    out: dict[str, float] = {}
    for token, weight in value.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise VectorError(f"[sparse_vector] fields take hashes that map a feature to a strictly positive "
                              f"float, but got unexpected token [{weight}] for feature [{token}] in field [{path}]")
        out[str(token)] = float(weight)
    return out


def arrow_column(hint: FieldHint, values: list[Any]) -> pa.Array:
    """An Arrow array for one vector column (None for documents without the field)."""
    if hint.kind == "dense":
        dims = int(hint.dims or 0)
        matrix = np.zeros((len(values), dims), dtype=np.float32)
        missing = np.ones(len(values), dtype=bool)
        for row, vec in enumerate(values):
            if vec is not None:
                matrix[row] = vec
                missing[row] = False
        flat = pa.array(matrix.reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, dims, mask=pa.array(missing))
    return pa.array(
        [None if v is None else list(v.items()) for v in values], type=pa.map_(pa.string(), pa.float32())
    )


def from_db(hint: FieldHint, value: Any) -> Any:
    """A stored vector back as JSON-able Python (dense: list of floats; sparse: dict)."""
    if value is None:
        return None
    if hint.kind == "dense":
        return [float(x) for x in value]
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    return {str(k): float(v) for k, v in value}



SIMILARITIES = (None, "cosine", "dot_product", "l2_norm", "max_inner_product")


def check_hint(path: str, hint: FieldHint) -> FieldHint:
    """A field hint as stored (dense: dims and similarity filled in), or IllegalArgumentException."""
    if not path or path.startswith("_"):
        raise IllegalArgumentException(f"field name [{path}] cannot be a vector field")
    if hint.kind == "sparse":
        return FieldHint("sparse", None, None)
    if not (isinstance(hint.dims, int) and 0 < hint.dims <= 4096):
        raise IllegalArgumentException(f"[dims] of dense vector field [{path}] must be in [1, 4096], got [{hint.dims}]")
    if hint.similarity not in SIMILARITIES:
        raise IllegalArgumentException(f"unknown similarity [{hint.similarity}] for field [{path}]")
    return FieldHint("dense", hint.dims, hint.similarity or "cosine")


def es_type(hint: FieldHint) -> str:
    """The field type a hint maps to, as it reads inside "type [...]" of Elasticsearch's messages."""
    return f"dense_vector] with dims [{hint.dims}" if hint.kind == "dense" else "sparse_vector"


def check_same(path: str, old: FieldHint, new: FieldHint) -> None:
    """Elasticsearch's refusal to change a mapped vector field's type or dims."""
    if (old.kind, old.dims) != (new.kind, new.dims):
        raise IllegalArgumentException(f"mapper [{path}] cannot be changed from type [{es_type(old)}] to [{es_type(new)}]")
