"""``ingest infer ID [TEXT...] [--image PATH...]``: print exactly the body Elasticsearch's ``POST /_inference``
returns.

``ID`` is an inference endpoint id when the endpoint registry knows it, otherwise a local model id or alias.
``--image`` sends a file as an ``embedding`` content object (``{"type": "image", "format": "base64", "value":
"data:image/png;base64,..."}``), after the texts. Results go to stdout, progress and errors to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from ingest.cli.models_cmd import fail, progress
from ingest.models.contents import InputItem, data_uri
from ingest.models.errors import ElasticsearchError, IllegalArgumentException, ResourceNotFoundException
from ingest.models.results import InferenceResults, SparseEmbeddingResults, TextEmbeddingResults


def _infer_endpoint(ctx: typer.Context, inference_id: str, texts: list[InputItem],
                    input_type: str | None) -> InferenceResults | None:
    """Answer through the endpoint registry when ``inference_id`` is an endpoint there, else None."""
    from ingest.cli.context import cli_context

    api = cli_context(ctx).api
    try:
        api.endpoint(inference_id)
    except ResourceNotFoundException:
        return None
    return api.infer(inference_id, texts, input_type=input_type)


def _infer_model(model_id: str, texts: list[str], input_type: str | None, threads: int, quantize: bool) -> InferenceResults:
    from ingest.models.runtime import load_model  # ONNX Runtime: imported by this command alone

    model = load_model(model_id, quantize=quantize, threads=threads, progress=progress)
    try:
        return model.embed(texts, input_type)
    finally:
        model.close()


def render(results: InferenceResults) -> dict[str, Any]:
    """The response body, with float32 values printed at float32 precision as Elasticsearch does."""
    if isinstance(results, TextEmbeddingResults):
        if results.element_type != "float":  # byte / bit values are integers under their own key
            return results.to_dict()
        return {
            results.key: [
                {"embedding": [float(str(v)) for v in row]} for row in results.embeddings.astype(np.float32)
            ]
        }
    if isinstance(results, SparseEmbeddingResults):
        truncated = results.truncated or [False] * len(results.embeddings)
        return {"sparse_embedding": [
            {"is_truncated": bool(t), "embedding": {k: float(str(np.float32(v))) for k, v in e.items()}}
            for e, t in zip(results.embeddings, truncated, strict=True)
        ]}
    return results.to_dict()


def infer_cmd(
    ctx: typer.Context,
    inference_id: Annotated[str, typer.Argument(help="Inference endpoint id, or a local model id such as .multilingual-e5-small.")],
    texts: Annotated[list[str] | None, typer.Argument(help="Input texts.")] = None,
    images: Annotated[list[Path] | None, typer.Option(
        "--image", help="An image file to embed (repeatable; an `embedding` endpoint taking images).")] = None,
    input_type: Annotated[str | None, typer.Option("--input-type", help="search or ingest (selects E5's query:/passage: prefix).")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="onnxruntime threads for a local model.")] = 1,
    quantize: Annotated[bool, typer.Option("--quantize", help="Use the int8 variant of a local model.")] = False,
) -> None:
    """Run inference and print Elasticsearch's POST /_inference response body."""
    texts = list(texts or [])
    try:
        inputs: list[InputItem] = [*texts, *(_image(path) for path in images or [])]
        if not inputs:
            raise IllegalArgumentException("give at least one input text or --image")
        results = _infer_endpoint(ctx, inference_id, inputs, input_type)
        if results is None:
            if images:
                raise IllegalArgumentException(f"[{inference_id}] is a local model, which embeds text only; images "
                                               "need an [embedding] endpoint of a service that takes them")
            results = _infer_model(inference_id, texts, input_type, threads, quantize)
    except ElasticsearchError as exc:
        fail(exc)
    typer.echo(json.dumps(render(results)))


def _image(path: Path) -> dict[str, object]:
    """An image file as an ``embedding`` content object."""
    try:
        value = data_uri(path)
    except OSError as exc:
        raise IllegalArgumentException(f"cannot read image [{path}]: {exc.strerror or exc}") from None
    return {"content": {"type": "image", "format": "base64", "value": value}}


def register(app: typer.Typer) -> None:
    """Add ``ingest infer`` to the ingest app."""
    app.command("infer")(infer_cmd)
