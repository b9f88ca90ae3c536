"""``ingest indices list|delete`` and ``ingest export``: the embedded store's indices, for people and analysts.

While ``ingest serve`` runs on the home (it owns the DuckDB file), these go through its REST API with the
home's local token (``AppContext.served_store``); otherwise they open the store directly. Either way the
output is the same.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from ingest.models.errors import ElasticsearchError

if TYPE_CHECKING:
    from ingest.context import AppContext
    from ingest.indices.service import IndexStore
    from ingest.sinks.base import Sink
    from ingest.sinks.bulk.versioned import VersionedDocuments
    from ingest.sinks.served import ServedSink


def _fail(exc: ElasticsearchError) -> typer.Exit:
    sys.stderr.write(json.dumps(exc.to_dict()) + "\n")
    return typer.Exit(2)


def _open(context: AppContext) -> tuple[ServedSink | None, VersionedDocuments | None]:
    """(the server's sink, None) while a server owns the store, else (None, the store itself)."""
    from ingest.sinks.served import open_served

    served = context.served_store("embedded")
    if served is not None:
        return open_served(served.url, served.token), None
    return None, cast("VersionedDocuments", context.open_sink("embedded"))


def _close(served: ServedSink | None, store: VersionedDocuments | None) -> None:
    if served is not None:
        served.close()
    if store is not None:
        cast("Sink", store).close()  # the embedded store: a sink whose kind declares versioned documents


def list_indices(context: AppContext) -> list[dict[str, Any]]:
    """``[{"index", "docs.count"}]`` of the home's embedded store, sorted by name."""
    served, store = _open(context)
    try:
        if served is not None:
            _, rows = served.request("GET", "/_cat/indices", params={"format": "json"})
            found = {str(r["index"]): int(r.get("docs.count") or 0) for r in rows}
        else:
            assert store is not None
            found = {name: store.count(name) for name in store.indices()}
    finally:
        _close(served, store)
    return [{"index": name, "docs.count": found[name]} for name in sorted(found)]


def delete_indices(context: AppContext, expression: str) -> dict[str, Any]:
    """``DELETE /{expression}``: wildcards and comma lists, as Elasticsearch resolves them."""
    served, store = _open(context)
    try:
        if served is not None:
            return dict(served.request("DELETE", f"/{expression}")[1])
        from ingest.indices import service
        from ingest.indices.expressions import Options

        catalog = context.index_catalog()
        try:
            return service.delete(cast("IndexStore", store), catalog, expression, Options())
        finally:
            catalog.close()
    finally:
        _close(served, store)


def export_index(context: AppContext, index: str, fmt: str, output: Path | None) -> int:
    """Write ``index`` to ``output`` (``-`` or None with jsonl: stdout); the number of documents."""
    from ingest.jobs.export import scroll_pages, store_pages

    served, store = _open(context)
    try:
        if served is not None:
            from ingest.sinks.served.reads import vector_fields

            _, body = served.request("GET", f"/{index}/_mapping")
            vectors = {k: dims for k, (kind, dims) in vector_fields(body).items() if kind == "dense_vector"}
            pages: Any = scroll_pages(served, index)
        else:
            assert store is not None
            if not store.index_exists(index):
                from ingest.sinks.bulk.items import index_not_found

                raise index_not_found(index)
            vectors = {k: h.dims or 0 for k, h in store.hints(index).items() if h.kind == "dense"}
            pages = store_pages(store, index)
        with contextlib.closing(pages):  # the scroll is cleared before its client closes, even on a broken pipe
            return _write(pages, fmt, output, vectors)
    finally:
        _close(served, store)


def _write(pages: Any, fmt: str, output: Path | None, vectors: dict[str, int]) -> int:
    from ingest.jobs.export import write_jsonl, write_parquet

    if fmt == "parquet":
        if output is None or str(output) == "-":
            raise typer.BadParameter("parquet needs a file: --output PATH", param_hint="--output")
        return write_parquet(pages, output, vectors)
    if output is None or str(output) == "-":
        return write_jsonl(pages, sys.stdout)
    with output.open("w", encoding="utf-8") as out:
        return write_jsonl(pages, out)


def register(app: typer.Typer) -> None:
    """Add ``export`` and the ``indices`` group."""

    @app.command("export")
    def export_cmd(
        ctx: typer.Context,
        index: str = typer.Argument(..., help="Index of the embedded store."),
        fmt: str = typer.Option("parquet", "--format", help="parquet or jsonl."),
        output: Path | None = typer.Option(None, "--output", "-o",
                                           help="File to write (default: INDEX.parquet; jsonl: stdout)."),
    ) -> None:
        """Every document of INDEX as rows: an _id column plus the _source fields, vectors included."""
        from ingest.cli.context import cli_context

        if fmt not in ("parquet", "jsonl"):
            raise typer.BadParameter(f"expected parquet or jsonl, not [{fmt}]", param_hint="--format")
        if fmt == "parquet" and output is None:
            output = Path(f"{index}.parquet")
        try:
            count = export_index(cli_context(ctx), index, fmt, output)
        except ElasticsearchError as exc:
            raise _fail(exc) from None
        sys.stderr.write(f"exported {count} document(s) of [{index}]"
                         f"{f' to {output}' if output and str(output) != '-' else ''}\n")

    group = typer.Typer(help="Indices of the embedded store.", no_args_is_help=True)
    app.add_typer(group, name="indices")

    @group.command("list")
    def list_cmd(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help="One JSON array instead of a table.")) -> None:
        """The indices and their document counts."""
        from ingest.cli.context import cli_context

        try:
            rows = list_indices(cli_context(ctx))
        except ElasticsearchError as exc:
            raise _fail(exc) from None
        if as_json:
            typer.echo(json.dumps(rows))
            return
        width = max([len("index"), *(len(r["index"]) for r in rows)])
        typer.echo(f"{'index':<{width}}  docs.count")
        for row in rows:
            typer.echo(f"{row['index']:<{width}}  {row['docs.count']}")

    @group.command("delete")
    def delete_cmd(ctx: typer.Context,
                   expression: str = typer.Argument(..., help="Index name, comma list or wildcard pattern."),
                   yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
        """Delete indices and their documents (not undoable)."""
        from ingest.cli.context import cli_context

        if not yes and not typer.confirm(f"delete [{expression}] and every document in it?"):
            raise typer.Exit(1)
        try:
            typer.echo(json.dumps(delete_indices(cli_context(ctx), expression)))
        except ElasticsearchError as exc:
            raise _fail(exc) from None
