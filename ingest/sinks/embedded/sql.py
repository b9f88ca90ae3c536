"""DuckDB SQL of the embedded store's vector columns: dense vectors are ``FLOAT[dims]`` columns, sparse vectors
``MAP(VARCHAR, FLOAT)`` columns, one per mapped field path."""

from __future__ import annotations

from ingest.sinks.base import FieldHint


def column_type(hint: FieldHint) -> str:
    """DuckDB type of a vector column."""
    if hint.kind == "dense":
        return f"FLOAT[{int(hint.dims or 0)}]"
    return "MAP(VARCHAR, FLOAT)"


def dense_score_sql(column: str, dims: int, similarity: str | None) -> str:
    """Elasticsearch's k-NN ``_score`` for a similarity, as SQL over ``column`` and parameter ``$q``."""
    q = f"$q::FLOAT[{dims}]"
    if similarity in (None, "cosine"):
        return f"(1 + array_cosine_similarity({column}, {q})) / 2"
    if similarity == "dot_product":
        return f"(1 + array_inner_product({column}, {q})) / 2"
    if similarity == "max_inner_product":
        ip = f"array_inner_product({column}, {q})"
        return f"CASE WHEN {ip} < 0 THEN 1 / (1 - {ip}) ELSE {ip} + 1 END"
    if similarity == "l2_norm":
        return f"1 / (1 + pow(array_distance({column}, {q}), 2))"
    raise ValueError(f"unknown similarity [{similarity}]")


def quote_name(name: str) -> str:
    """A table or column name as a DuckDB identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
