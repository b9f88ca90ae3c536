"""``ingest export``: every document of an index as Parquet or JSON lines, the supported way to read the store.

Each document becomes one row: its ``_source`` fields (vectors included, dense ones as ``list<float32>``) and
an ``_id`` column. Pages come from the embedded store directly (``EmbeddedStore.scan``), or, while ``ingest
serve`` owns the store, from the server's scroll search (``POST /{index}/_search?scroll``), which also works
against an Elasticsearch cluster. Parquet pages are staged as Arrow IPC files and conformed to one schema at
the end, so memory stays one page whatever the index size, and documents whose fields differ still share a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import pyarrow as pa

from ingest.sinks.bulk.apply import StoredDoc

Format = Literal["parquet", "jsonl"]
Page = list[tuple[str, dict[str, Any]]]  # (_id, _source)
SCROLL_KEEP_ALIVE = "5m"


class Scannable(Protocol):
    """A store that lists an index's documents page by page (the embedded store)."""

    def scan(self, index: str, page: int = 1000) -> Iterator[list[StoredDoc]]: ...


class Requests(Protocol):
    """A REST client of an Elasticsearch-compatible server (a cluster sink's ``request``)."""

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                ignore: tuple[int, ...] = ()) -> tuple[int, Any]: ...


def store_pages(store: Scannable, index: str, size: int = 1000) -> Iterator[Page]:
    """The documents of ``index`` read from the store itself, ``size`` at a time."""
    for docs in store.scan(index, size):
        yield [(doc.id, doc.source) for doc in docs]


def scroll_pages(client: Requests, index: str, size: int = 1000) -> Iterator[Page]:
    """The documents of ``index`` through a scroll search (``_doc`` order), the scroll cleared at the end."""
    _, body = client.request("POST", f"/{index}/_search", params={"scroll": SCROLL_KEEP_ALIVE},
                             body={"size": size, "sort": ["_doc"], "query": {"match_all": {}}})
    scroll_id = body.get("_scroll_id")
    try:
        while True:
            hits = (body.get("hits") or {}).get("hits") or []
            if not hits:
                return
            yield [(str(hit["_id"]), dict(hit.get("_source") or {})) for hit in hits]
            if not scroll_id:
                return
            _, body = client.request("POST", "/_search/scroll",
                                     body={"scroll": SCROLL_KEEP_ALIVE, "scroll_id": scroll_id})
            scroll_id = body.get("_scroll_id") or scroll_id
    finally:
        if scroll_id:
            client.request("DELETE", "/_search/scroll", body={"scroll_id": [scroll_id]}, ignore=(404,))


def write_jsonl(pages: Iterator[Page], out: IO[str]) -> int:
    """One JSON object a line: ``{"_id": ..., **_source}``; the number of documents."""
    count = 0
    for page in pages:
        for doc_id, source in page:
            out.write(json.dumps({"_id": doc_id, **source}, ensure_ascii=False, default=str) + "\n")
        count += len(page)
    return count


def _table(page: Page, vectors: dict[str, int]) -> pa.Table:
    table = pa.Table.from_pylist([{"_id": doc_id, **source} for doc_id, source in page])
    for name in vectors:  # dense vectors as float32 lists (JSON gives doubles)
        if name in table.column_names:
            pos = table.column_names.index(name)
            table = table.set_column(pos, name, table.column(name).cast(pa.list_(pa.float32())))
    return table


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names
               else pa.nulls(len(table), f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def write_parquet(pages: Iterator[Page], path: Path, vectors: dict[str, int] | None = None,
                  mode: int | None = None) -> int:
    """A Parquet file at ``path`` with an ``_id`` column and one per ``_source`` field; ``vectors``: the dense
    vector fields (name → dims), stored as ``list<float32>``; ``mode``: the file's permissions from its creation
    (else the umask's). Returns the number of documents."""
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    count, schemas = 0, []
    with tempfile.TemporaryDirectory(prefix="ingest-export-") as staging:
        files = []
        for n, page in enumerate(pages):
            table = _table(page, vectors or {})
            files.append(Path(staging) / f"{n}.arrow")
            with ipc.new_file(files[-1], table.schema) as writer:
                writer.write_table(table)
            schemas.append(table.schema)
            count += len(page)
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema(
            [("_id", pa.string())])
        tmp = path.with_name(f".{path.name}.part")
        if mode is not None:  # created with ``mode`` before any byte is written (the writer truncates, keeps it)
            os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode))
            os.chmod(tmp, mode)
        with pq.ParquetWriter(tmp, schema) as out:
            for file in files:
                with ipc.open_file(file) as reader:
                    out.write_table(_conform(reader.read_all(), schema))
        tmp.replace(path)  # a reader never sees half a file
    return count
