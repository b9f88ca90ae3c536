"""``ingest infer ID TEXT...``: print exactly the body Elasticsearch's ``POST /_inference`` returns.

``ID`` is an inference endpoint id when the endpoint registry knows it, otherwise a local model id or alias.
Results go to stdout, progress and errors to stderr.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
import typer

from ingest.cli.models_cmd import fail, progress
from ingest.models.errors import ElasticsearchError, ResourceNotFoundException
from ingest.models.results import InferenceResults, SparseEmbeddingResults, TextEmbeddingResults


def _infer_endpoint(ctx: typer.Context, inference_id: str, texts: list[str], input_type: str | None) -> InferenceResults | None:
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
        return {
            "text_embedding": [
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
    texts: Annotated[list[str], typer.Argument(help="One or more input texts.")],
    input_type: Annotated[str | None, typer.Option("--input-type", help="search or ingest (selects E5's query:/passage: prefix).")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="onnxruntime threads for a local model.")] = 1,
    quantize: Annotated[bool, typer.Option("--quantize", help="Use the int8 variant of a local model.")] = False,
) -> None:
    """Run inference and print Elasticsearch's POST /_inference response body."""
    try:
        results = _infer_endpoint(ctx, inference_id, texts, input_type)
        if results is None:
            results = _infer_model(inference_id, texts, input_type, threads, quantize)
    except ElasticsearchError as exc:
        fail(exc)
    typer.echo(json.dumps(render(results)))


def register(app: typer.Typer) -> None:
    """Add ``ingest infer`` to the ingest app."""
    app.command("infer")(infer_cmd)
