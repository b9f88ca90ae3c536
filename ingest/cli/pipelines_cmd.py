"""``ingest pipelines put|get|delete|simulate``: the ``/_ingest/pipeline`` API from the command line.

Bodies are read from JSON or YAML files (``-`` for stdin); responses are printed as Elasticsearch returns them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ingest.cli.models_cmd import fail
from ingest.jobs.pipelinespec import read_body
from ingest.models.errors import ElasticsearchError

pipelines_app = typer.Typer(help="Ingest pipelines: put, get, delete, simulate (Elasticsearch's _ingest API).",
                            no_args_is_help=True)


def _service(ctx: typer.Context) -> Any:
    from ingest.cli.context import cli_context

    return cli_context(ctx).pipelines()


def _print(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


@pipelines_app.command("put")
def put(ctx: typer.Context, pipeline_id: Annotated[str, typer.Argument(help="Pipeline id")],
        file: Annotated[str, typer.Argument(help="Pipeline definition (JSON or YAML; - for stdin)")],
        if_version: Annotated[int | None, typer.Option("--if-version", help="Only replace this version")] = None,
        ) -> None:
    """Create or replace a pipeline."""
    try:
        _print(_service(ctx).put(pipeline_id, read_body(file), if_version))
    except ElasticsearchError as exc:
        fail(exc)


@pipelines_app.command("get")
def get(ctx: typer.Context, ids: Annotated[str | None, typer.Argument(help="Ids, comma list or wildcards (default: all)")] = None,
        summary: Annotated[bool, typer.Option("--summary", help="Leave out the definitions")] = False) -> None:
    """Show pipelines."""
    try:
        found = _service(ctx).get(ids, summary=summary)
    except ElasticsearchError as exc:
        fail(exc)
    _print(found)
    if ids is not None and not found:
        raise typer.Exit(code=1)


@pipelines_app.command("delete")
def delete(ctx: typer.Context, pattern: Annotated[str, typer.Argument(help="Id, comma list or wildcard")]) -> None:
    """Delete pipelines."""
    warnings: list[str] = []
    try:
        result = _service(ctx).delete(pattern, warnings)
    except ElasticsearchError as exc:
        fail(exc)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    _print(result)


@pipelines_app.command("simulate")
def simulate(ctx: typer.Context, file: Annotated[str, typer.Argument(help="Simulate body {docs, pipeline?} (JSON or YAML; - for stdin)")],
             pipeline_id: Annotated[str | None, typer.Option("--id", help="Run this stored pipeline")] = None,
             pipeline_file: Annotated[str | None, typer.Option("--pipeline", help="Pipeline definition file")] = None,
             verbose: Annotated[bool, typer.Option("--verbose", help="Per-processor results")] = False) -> None:
    """Run a pipeline on example documents, like ``POST /_ingest/pipeline/_simulate``."""
    try:
        body = read_body(file)
        if pipeline_file is not None and isinstance(body, dict):
            body["pipeline"] = read_body(pipeline_file)
        _print(_service(ctx).simulate(body, pipeline_id, verbose))
    except ElasticsearchError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add the ``pipelines`` command group to the ingest app."""
    app.add_typer(pipelines_app, name="pipelines")
