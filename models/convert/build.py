"""Turn a spec's source files into ``model.onnx`` + ``tokenizer.json`` in a folder (no caching here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from ingest.models.catalogue import ModelSpec, Pooling, WeightFormat
from ingest.models.convert.e5s1 import read_e5s1
from ingest.models.convert.graph import build_encoder, save_model
from ingest.models.convert.hf import read_checkpoint, to_encoder_weights
from ingest.models.convert.onnx_adapt import adapt_onnx
from ingest.models.convert.tokenizer import e5_tokenizer

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True)
class SourceFiles:
    """The located, checksum-verified inputs of a conversion."""

    weights: Path  # the E5S1 file, the .safetensors file (its folder holds config.json) or the .onnx file
    tokenizer: Path | None  # tokenizer.json, when separate from the weights


def clean_tokenizer(tok: Tokenizer) -> Tokenizer:
    """Drop truncation and padding: the runtime sets them per batch."""
    tok.no_truncation()
    tok.no_padding()
    return tok


def convert(spec: ModelSpec, src: SourceFiles, out_dir: Path, progress: Callable[[str], None]) -> None:
    """Write ``model.onnx`` and ``tokenizer.json`` for ``spec`` into ``out_dir``."""
    sparse = spec.pooling == Pooling.SPLADE
    if spec.weight_format == WeightFormat.E5S1:
        progress(f"[{spec.model_id}] dequantising 4-bit weights from {src.weights.name}")
        parsed = read_e5s1(src.weights)
        tokenizer = e5_tokenizer(parsed.vocabulary)
        progress(f"[{spec.model_id}] writing the ONNX graph")
        save_model(build_encoder(parsed.weights, spec.pooling, name=spec.model_id), out_dir / MODEL_FILE)
    elif spec.weight_format == WeightFormat.SAFETENSORS:
        if src.tokenizer is None:
            raise ValueError(f"[{spec.model_id}] has no tokenizer.json")
        progress(f"[{spec.model_id}] reading {src.weights.name}")
        weights = to_encoder_weights(read_checkpoint(src.weights.parent), with_mlm_head=sparse,
                                     with_classifier=spec.pooling == Pooling.CLASSIFY)
        tokenizer = clean_tokenizer(Tokenizer.from_file(str(src.tokenizer)))
        progress(f"[{spec.model_id}] writing the ONNX graph")
        save_model(build_encoder(weights, spec.pooling, name=spec.model_id), out_dir / MODEL_FILE)
    elif spec.weight_format == WeightFormat.ONNX:
        if src.tokenizer is None:
            raise ValueError(f"[{spec.model_id}] has no tokenizer.json")
        tokenizer = clean_tokenizer(Tokenizer.from_file(str(src.tokenizer)))
        progress(f"[{spec.model_id}] adapting {src.weights.name} to the embedding contract")
        save_model(
            adapt_onnx(src.weights, spec.pooling, vocab_size=tokenizer.get_vocab_size()), out_dir / MODEL_FILE
        )
    else:  # pragma: no cover - exhaustive over the enum
        raise ValueError(f"unsupported weight format [{spec.weight_format}]")
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
