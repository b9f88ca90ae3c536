"""Write encoder weights as a Hugging Face folder (config.json + model.safetensors + tokenizer.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from ingest.models.cache import BuiltModel
from ingest.models.catalogue import ModelSpec
from ingest.models.convert.weights import Dense, EncoderWeights, LayerNormWeights
from ingest.models.imported import import_model
from ingest.models.results import TaskType
from tests.models.tiny import _weights, make_tiny_model


def write_hf_folder(
    w: EncoderWeights, folder: Path, tokenizer_json: Path, *, masked_lm: bool, xlm_roberta: bool = False
) -> Path:
    """BertModel (or BertForMaskedLM with a tied decoder and old gamma/beta names) checkpoint of ``w``;
    with ``w.classifier`` a ...ForSequenceClassification (BERT pooler + classifier, XLM-R classifier.dense +
    classifier.out_proj).

    ``xlm_roberta`` writes an XLMRobertaModel instead: ``roberta.`` prefix and two leading position rows
    (positions start at padding_idx + 1 = 2), which the reader must skip.
    """
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "roberta." if xlm_roberta else "bert." if masked_lm else ""
    tensors: dict[str, np.ndarray] = {}

    def lin(name: str, d: Dense) -> None:
        tensors[f"{prefix}{name}.weight"] = np.ascontiguousarray(d.weight.T)
        tensors[f"{prefix}{name}.bias"] = d.bias

    def norm(name: str, n: LayerNormWeights, full: str | None = None) -> None:
        base = full or f"{prefix}{name}"
        weight, bias = ("gamma", "beta") if masked_lm else ("weight", "bias")
        tensors[f"{base}.{weight}"] = n.gamma
        tensors[f"{base}.{bias}"] = n.beta

    c = w.config
    tensors[f"{prefix}embeddings.word_embeddings.weight"] = w.word_embeddings
    positions = w.position_embeddings
    if xlm_roberta:
        positions = np.concatenate([np.full((2, c.hidden_size), 9.0, np.float32), positions])
    tensors[f"{prefix}embeddings.position_embeddings.weight"] = positions
    tensors[f"{prefix}embeddings.token_type_embeddings.weight"] = np.stack(
        [w.token_type_embedding, np.ones_like(w.token_type_embedding)]
    )
    norm("embeddings.LayerNorm", w.embed_norm)
    for i, layer in enumerate(w.layers):
        p = f"encoder.layer.{i}"
        lin(f"{p}.attention.self.query", layer.query)
        lin(f"{p}.attention.self.key", layer.key)
        lin(f"{p}.attention.self.value", layer.value)
        lin(f"{p}.attention.output.dense", layer.attn_out)
        norm(f"{p}.attention.output.LayerNorm", layer.attn_norm)
        lin(f"{p}.intermediate.dense", layer.ffn_in)
        lin(f"{p}.output.dense", layer.ffn_out)
        norm(f"{p}.output.LayerNorm", layer.ffn_norm)
    if masked_lm:
        head = w.mlm_head
        assert head is not None
        tensors["cls.predictions.transform.dense.weight"] = np.ascontiguousarray(head.transform.weight.T)
        tensors["cls.predictions.transform.dense.bias"] = head.transform.bias
        norm("", head.norm, full="cls.predictions.transform.LayerNorm")
        tensors["cls.predictions.bias"] = head.decoder_bias  # decoder weight tied to the word embeddings
    if w.classifier is not None:
        head = w.classifier
        first, second = ("pooler.dense", "classifier") if not xlm_roberta else ("classifier.dense",
                                                                               "classifier.out_proj")
        tensors[f"{prefix if not xlm_roberta else ''}{first}.weight"] = np.ascontiguousarray(head.dense.weight.T)
        tensors[f"{prefix if not xlm_roberta else ''}{first}.bias"] = head.dense.bias
        tensors[f"{second}.weight"] = np.ascontiguousarray(head.out.weight.T)
        tensors[f"{second}.bias"] = head.out.bias
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
        str(folder / "model.safetensors"),
    )
    config = {
        "architectures": [
            ("XLMRobertaForSequenceClassification" if xlm_roberta else "BertForSequenceClassification")
            if w.classifier is not None
            else "XLMRobertaModel" if xlm_roberta else "BertForMaskedLM" if masked_lm else "BertModel"
        ],
        "model_type": "xlm-roberta" if xlm_roberta else "bert",
        "hidden_act": "gelu",
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_attention_heads": c.num_heads,
        "num_hidden_layers": c.num_layers,
        "max_position_embeddings": positions.shape[0],
        "vocab_size": c.vocab_size,
        "layer_norm_eps": c.layer_norm_eps,
        "type_vocab_size": 2,
        "position_embedding_type": "absolute",
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "tokenizer.json").write_bytes(tokenizer_json.read_bytes())
    return folder


def import_tiny_hf(tmp_path: Path, task_type: TaskType, model_id: str = "my-model") -> tuple[BuiltModel, ModelSpec]:
    """The tiny model built directly, and the same weights imported from a Hugging Face folder (not yet built)."""
    sparse = task_type == TaskType.SPARSE_EMBEDDING
    tiny = make_tiny_model(tmp_path / "tiny", task_type)
    folder = write_hf_folder(_weights(7, sparse), tmp_path / "hf", tiny.tokenizer_path, masked_lm=sparse)
    return tiny, import_model(folder, model_id, task_type)
