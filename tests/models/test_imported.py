"""Importing models (HF folders, ONNX files), resolving ids and listing them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ingest.models.cache import BuiltModel, ensure_built
from ingest.models.catalogue import ELSER_COMPATIBLE_SPLADE, MULTILINGUAL_E5_SMALL, WeightFormat
from ingest.models.errors import (
    IllegalArgumentException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from ingest.models.imported import delete_imported, import_model, list_models, resolve_model
from ingest.models.results import TaskType
from ingest.models.runtime import LocalModel
from tests.models.hf_folder import import_tiny_hf, write_hf_folder
from tests.models.tiny import _weights, make_tiny_model

TEXTS = ["the cat sat on the mat", "hello world, a dog!"]


def _embed(built: BuiltModel, texts: list[str]) -> np.ndarray:
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    sess = ort.InferenceSession(str(built.onnx_path), providers=["CPUExecutionProvider"])
    rows = []
    for text in texts:
        ids = np.array([tok.encode(text).ids], np.int64)
        rows.append(sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0])
    return np.stack(rows)


@pytest.mark.parametrize("task_type", [TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING])
def test_import_hf_folder_builds_the_same_model(
    tmp_path: Path, ingest_home: Path, private_cache: Path, task_type: TaskType
) -> None:
    sparse = task_type == TaskType.SPARSE_EMBEDDING
    tiny, spec = import_tiny_hf(tmp_path, task_type)
    assert spec.weight_format == WeightFormat.SAFETENSORS and spec.architecture == "bert"
    assert spec.dims == (None if sparse else 32)
    assert (ingest_home / "imported" / "my-model" / "spec.json").is_file()
    assert resolve_model("my-model") == spec
    assert [s.model_id for s in list_models()][-1] == "my-model"
    built = ensure_built(resolve_model("my-model"))
    np.testing.assert_allclose(_embed(built, TEXTS), _embed(tiny, TEXTS), atol=1e-5)


def test_import_xlm_roberta_folder_skips_the_position_offset(
    tmp_path: Path, ingest_home: Path, private_cache: Path
) -> None:
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    folder = write_hf_folder(
        _weights(7, False), tmp_path / "xlmr", tiny.tokenizer_path, masked_lm=False, xlm_roberta=True
    )
    spec = import_model(folder, "my-xlmr", TaskType.TEXT_EMBEDDING)
    assert spec.architecture == "xlm-roberta" and spec.max_tokens == 64
    np.testing.assert_allclose(_embed(ensure_built(spec), TEXTS), _embed(tiny, TEXTS), atol=1e-5)


def test_import_onnx_file(tmp_path: Path, ingest_home: Path, private_cache: Path) -> None:
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    spec = import_model(tiny.onnx_path, "tiny-onnx", TaskType.TEXT_EMBEDDING)
    assert spec.weight_format == WeightFormat.ONNX and spec.dims == 32
    assert spec.max_tokens == 64  # the tiny model's position table, not a blanket 512
    with LocalModel(ensure_built(spec)) as model:  # longer than the table: truncated, not an onnxruntime failure
        assert model.embed_arrays(["the cat sat on the mat " * 40]).shape == (1, 32)
    np.testing.assert_allclose(_embed(ensure_built(spec), TEXTS), _embed(tiny, TEXTS), atol=1e-6)
    delete_imported("tiny-onnx")
    with pytest.raises(ResourceNotFoundException):
        resolve_model("tiny-onnx")


def test_builtin_ids_and_aliases_resolve(ingest_home: Path) -> None:
    assert resolve_model(".multilingual-e5-small_linux-x86_64") is MULTILINGUAL_E5_SMALL
    assert resolve_model(".elser_model_2") is ELSER_COMPATIBLE_SPLADE
    with pytest.raises(ResourceNotFoundException, match=r"Could not find trained model \[nope\]"):
        resolve_model("nope")
    with pytest.raises(ResourceNotFoundException):
        resolve_model("../../etc")
    assert [s.model_id for s in list_models()][:3] == [
        ".multilingual-e5-small",
        ".elser_model_2",
        "sentence-transformers__all-minilm-l6-v2",
    ]


def test_import_errors_are_clear(tmp_path: Path, ingest_home: Path) -> None:
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    folder = write_hf_folder(_weights(7, False), tmp_path / "hf", tiny.tokenizer_path, masked_lm=False)
    with pytest.raises(IllegalArgumentException, match="Invalid model_id"):
        import_model(folder, "Bad Id!", TaskType.TEXT_EMBEDDING)
    with pytest.raises(ResourceAlreadyExistsException, match=r"\[\.elser_model_2\] already exists"):
        import_model(folder, ".elser_model_2", TaskType.SPARSE_EMBEDDING)
    with pytest.raises(IllegalArgumentException, match=r"task_type \[completion\] is not supported"):
        import_model(folder, "x1", TaskType.COMPLETION)
    with pytest.raises(IllegalArgumentException, match="needs a BertForSequenceClassification checkpoint"):
        import_model(folder, "x1", TaskType.RERANK)  # a plain encoder has no relevance head
    with pytest.raises(IllegalArgumentException, match="BertForMaskedLM"):
        import_model(folder, "x2", TaskType.SPARSE_EMBEDDING)
    with pytest.raises(IllegalArgumentException, match="does not exist"):
        import_model(tmp_path / "missing", "x3", TaskType.TEXT_EMBEDDING)

    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(IllegalArgumentException, match=r"unsupported model_type \[gpt2\]"):
        import_model(folder, "x4", TaskType.TEXT_EMBEDDING)
    (folder / "config.json").write_text(json.dumps(config))

    import_model(folder, "dup", TaskType.TEXT_EMBEDDING)
    with pytest.raises(ResourceAlreadyExistsException):
        import_model(folder, "dup", TaskType.TEXT_EMBEDDING)

    (folder / "tokenizer.json").unlink()
    with pytest.raises(IllegalArgumentException, match=r"no tokenizer\.json"):
        import_model(folder, "x5", TaskType.TEXT_EMBEDDING)
    # Failed imports leave nothing behind.
    assert sorted(p.name for p in (ingest_home / "imported").iterdir()) == ["dup"]
