"""Vector search SQL for the embedded store (enough to check that vectors work, not a search engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import FieldHint


def knn(con: duckdb.DuckDBPyConnection, table: str, column: str, hint: FieldHint, query: Any, k: int,
        score_sql: Callable[[str, int, str | None], str]) -> list[tuple[str, float]]:
    """Exact k-NN over a ``FLOAT[dims]`` column: (id, score) best first."""
    dims = int(hint.dims or 0)
    if hasattr(query, "tolist"):
        query = query.tolist()
    if not isinstance(query, list) or len(query) != dims:
        got = len(query) if isinstance(query, list) else type(query).__name__
        raise IllegalArgumentException(
            f"the query vector has a different number of dimensions [{got}] than the document vectors [{dims}]"
        )
    score = score_sql(column, dims, hint.similarity)
    return [
        (str(i), float(s))
        for i, s in con.execute(
            f"SELECT _id, {score} AS score FROM {table} WHERE {column} IS NOT NULL "
            f"ORDER BY score DESC, _id LIMIT {int(k)}",
            {"q": [float(x) for x in query]},
        ).fetchall()
    ]


def sparse_dot(con: duckdb.DuckDBPyConnection, table: str, column: str, weights_table: str | None, query: Any,
               k: int) -> list[tuple[str, float]]:
    """Dot product of a ``MAP(VARCHAR, FLOAT)`` column with query weights (a registered token/weight table)."""
    if weights_table is None or not isinstance(query, dict):
        raise IllegalArgumentException("a sparse vector field is searched with token → weight pairs")
    sql = (
        f"SELECT _id, sum(e.value * q.weight) AS score "
        f"FROM (SELECT _id, unnest(map_entries({column})) AS e FROM {table} WHERE {column} IS NOT NULL) d "
        f"JOIN {weights_table} q ON d.e.key = q.token GROUP BY _id ORDER BY score DESC, _id LIMIT {int(k)}"
    )
    return [(str(i), float(s)) for i, s in con.execute(sql).fetchall()]
