"""Hugging Face ``config.json`` + ``*.safetensors`` → :class:`EncoderWeights`, for BERT and XLM-RoBERTa.

Handles the naming variants found in the wild: with or without the ``bert.`` / ``roberta.`` prefix, old
``gamma``/``beta`` LayerNorm names, and a masked-LM decoder that is tied to the word embeddings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from ingest.models.convert.weights import (
    F32,
    ClassifierHead,
    Dense,
    EncoderConfig,
    EncoderWeights,
    LayerNormWeights,
    LayerWeights,
    MlmHead,
)

SUPPORTED_MODEL_TYPES = {"bert": 0, "xlm-roberta": 2, "roberta": 2}  # model_type → position offset


class UnsupportedModelError(ValueError):
    """The checkpoint is not a BERT-family encoder we can convert; the message says why."""


@dataclass(frozen=True)
class HfCheckpoint:
    """A parsed config.json plus its tensors."""

    config: dict[str, Any]
    tensors: dict[str, np.ndarray]


def read_checkpoint(folder: Path) -> HfCheckpoint:
    """Load ``config.json`` and every ``*.safetensors`` file of ``folder``."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise UnsupportedModelError(f"no config.json in [{folder}]")
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UnsupportedModelError(
            f"no .safetensors weights in [{folder}] (pytorch_model.bin is not supported)"
        )
    config = json.loads(config_path.read_text(encoding="utf-8"))
    tensors: dict[str, np.ndarray] = {}
    for f in files:
        tensors.update(load_file(str(f)))
    return HfCheckpoint(config, tensors)


def check_config(config: dict[str, Any]) -> str:
    """Return the architecture name ("bert" or "xlm-roberta"), or raise naming what is unsupported."""
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise UnsupportedModelError(
            f"unsupported model_type [{model_type}]; supported: [{', '.join(sorted(SUPPORTED_MODEL_TYPES))}]"
        )
    act = config.get("hidden_act", "gelu")
    if act != "gelu":
        raise UnsupportedModelError(f"unsupported hidden_act [{act}]; only [gelu] is supported")
    pos = config.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise UnsupportedModelError(f"unsupported position_embedding_type [{pos}]; only [absolute]")
    return "bert" if model_type == "bert" else "xlm-roberta"


class _Tensors:
    """Look tensors up by their suffix, whatever the model prefix and LayerNorm naming."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.tensors = tensors
        prefixes = ("bert.", "roberta.", "xlm_roberta.", "model.")
        self.by_suffix: dict[str, str] = {}
        for key in tensors:
            short = next((key[len(p) :] for p in prefixes if key.startswith(p)), key)
            short = short.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
                "LayerNorm.beta", "LayerNorm.bias"
            )
            self.by_suffix.setdefault(short, key)

    def get(self, name: str) -> np.ndarray:
        key = self.by_suffix.get(name)
        if key is None:
            raise UnsupportedModelError(f"missing tensor [{name}] in the safetensors file")
        return np.asarray(self.tensors[key], dtype=F32)

    def has(self, name: str) -> bool:
        return name in self.by_suffix

    def linear(self, name: str) -> Dense:
        return Dense(np.ascontiguousarray(self.get(f"{name}.weight").T), self.get(f"{name}.bias"))

    def norm(self, name: str) -> LayerNormWeights:
        return LayerNormWeights(self.get(f"{name}.weight"), self.get(f"{name}.bias"))


def _classifier(t: _Tensors, arch: str) -> ClassifierHead:
    """The single-label sequence-classification head of a cross-encoder (Eland's ``text_similarity``)."""
    names = ("pooler.dense", "classifier") if arch == "bert" else ("classifier.dense", "classifier.out_proj")
    if not (t.has(f"{names[0]}.weight") and t.has(f"{names[1]}.weight")):
        kind = "BertForSequenceClassification" if arch == "bert" else "XLMRobertaForSequenceClassification"
        raise UnsupportedModelError(f"rerank needs a {kind} checkpoint ({names[0]}.* and {names[1]}.* tensors)")
    head = ClassifierHead(t.linear(names[0]), t.linear(names[1]))
    labels = head.out.weight.shape[1]
    if labels != 1:
        raise UnsupportedModelError(
            f"rerank needs a cross-encoder with one output (a relevance score); this head has {labels} labels"
        )
    return head


def to_encoder_weights(
    ckpt: HfCheckpoint, *, with_mlm_head: bool, with_classifier: bool = False
) -> EncoderWeights:
    """Convert a checkpoint to graph weights; ``with_mlm_head`` requires BertForMaskedLM's ``cls.predictions``,
    ``with_classifier`` a single-label sequence-classification head (a cross-encoder)."""
    arch = check_config(ckpt.config)
    cfg = ckpt.config
    t = _Tensors(ckpt.tensors)
    offset = SUPPORTED_MODEL_TYPES[cfg["model_type"]]
    positions = t.get("embeddings.position_embeddings.weight")[offset:]
    config = EncoderConfig(
        vocab_size=int(cfg["vocab_size"]),
        hidden_size=int(cfg["hidden_size"]),
        num_layers=int(cfg["num_hidden_layers"]),
        num_heads=int(cfg["num_attention_heads"]),
        intermediate_size=int(cfg["intermediate_size"]),
        max_positions=positions.shape[0],
        layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),
        position_offset=offset,
    )
    layers = []
    for i in range(config.num_layers):
        p = f"encoder.layer.{i}"
        layers.append(
            LayerWeights(
                query=t.linear(f"{p}.attention.self.query"),
                key=t.linear(f"{p}.attention.self.key"),
                value=t.linear(f"{p}.attention.self.value"),
                attn_out=t.linear(f"{p}.attention.output.dense"),
                attn_norm=t.norm(f"{p}.attention.output.LayerNorm"),
                ffn_in=t.linear(f"{p}.intermediate.dense"),
                ffn_out=t.linear(f"{p}.output.dense"),
                ffn_norm=t.norm(f"{p}.output.LayerNorm"),
            )
        )
    words = t.get("embeddings.word_embeddings.weight")
    head = None
    if with_mlm_head:
        if arch != "bert" or not t.has("cls.predictions.transform.dense.weight"):
            raise UnsupportedModelError(
                "sparse_embedding needs a BertForMaskedLM checkpoint (cls.predictions.* tensors)"
            )
        decoder = (
            t.get("cls.predictions.decoder.weight")
            if t.has("cls.predictions.decoder.weight")
            else words  # tied to the word embeddings
        )
        bias_name = (
            "cls.predictions.bias" if t.has("cls.predictions.bias") else "cls.predictions.decoder.bias"
        )
        head = MlmHead(
            transform=t.linear("cls.predictions.transform.dense"),
            norm=t.norm("cls.predictions.transform.LayerNorm"),
            decoder_weight=np.ascontiguousarray(decoder.T),
            decoder_bias=t.get(bias_name),
        )
    types = t.get("embeddings.token_type_embeddings.weight")
    return EncoderWeights(
        config=config,
        word_embeddings=words,
        position_embeddings=positions,
        token_type_embedding=types[0],
        embed_norm=t.norm("embeddings.LayerNorm"),
        layers=tuple(layers),
        mlm_head=head,
        classifier=_classifier(t, arch) if with_classifier else None,
        token_type_delta=(types[1] - types[0]) if with_classifier and types.shape[0] > 1 else None,
    )
