"""``ingest models ...`` and ``ingest infer``: results on stdout, messages and errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ingest.cli.infer_cmd import render
from ingest.cli.main import app
from ingest.models.results import SparseEmbeddingResults, TaskType, TextEmbeddingResults
from tests.models.tiny import make_tiny_model

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "models" in result.stdout and "infer" in result.stdout


def test_models_list_says_plainly_what_elser_is(ingest_home: Path) -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for model_id in (".multilingual-e5-small", ".elser_model_2", "sentence-transformers__all-minilm-l6-v2"):
        assert model_id in out
    assert "not Elastic's ELSER weights" in out
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)["models"]
    e5 = next(m for m in listed if m["model_id"] == ".multilingual-e5-small")
    assert e5["dimensions"] == 384 and e5["task_type"] == "text_embedding"


def test_infer_unknown_id_is_a_404_envelope_on_stderr(ingest_home: Path) -> None:
    result = runner.invoke(app, ["infer", "no-such-model", "hello"])
    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["status"] == 404
    assert error["error"]["type"] == "resource_not_found_exception"
    assert "no-such-model" in error["error"]["reason"]


def test_import_rejects_unsupported_task_type(ingest_home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "import", str(tmp_path), "--model-id", "x", "--task-type", "completion"])
    assert result.exit_code == 1
    assert "task_type [completion] is not supported" in json.loads(result.stderr)["error"]["reason"]


def test_import_then_infer_an_onnx_model(ingest_home: Path, tmp_path: Path) -> None:
    built = make_tiny_model(tmp_path, TaskType.TEXT_EMBEDDING)
    folder = built.onnx_path.parent
    result = runner.invoke(app, ["models", "import", str(folder), "--model-id", "my-tiny", "--task-type", "text_embedding"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model_id"] == "my-tiny"
    assert "my-tiny" in runner.invoke(app, ["models", "list"]).stdout
    inferred = runner.invoke(app, ["infer", "my-tiny", "hello world", "the cat"])
    assert inferred.exit_code == 0, inferred.stderr
    rows = json.loads(inferred.stdout)["text_embedding"]
    assert len(rows) == 2 and len(rows[0]["embedding"]) == 32


def test_render_prints_float32_values_like_elasticsearch() -> None:
    dense = TextEmbeddingResults(np.array([[0.1, -0.25]], dtype=np.float32))
    assert json.dumps(render(dense)) == '{"text_embedding": [{"embedding": [0.1, -0.25]}]}'
    sparse = SparseEmbeddingResults([{"cat": float(np.float32(2.4))}], [False])
    assert render(sparse) == {"sparse_embedding": [{"is_truncated": False, "embedding": {"cat": 2.4}}]}


@pytest.mark.realmodel
def test_infer_model_id_prints_the_sparse_body(ingest_home: Path) -> None:
    result = runner.invoke(app, ["infer", ".elser_model_2", "the cat sat on the mat"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert list(body) == ["sparse_embedding"]
    item = body["sparse_embedding"][0]
    assert item["is_truncated"] is False
    assert {"cat", "mat", "sat"} <= set(list(item["embedding"])[:8])


@pytest.mark.realmodel
def test_infer_endpoint_id_goes_through_the_inference_api(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A preconfigured endpoint: resolved by models.api, not as a model id. On linux-x86_64 it runs the optimised
    # variant, as Elasticsearch's does (INGEST_ML_PLATFORM pins the platform the test expects).
    monkeypatch.setenv("INGEST_ML_PLATFORM", "linux-x86_64")
    result = runner.invoke(app, ["infer", ".elser-2-elasticsearch", "the cat sat on the mat"])
    assert result.exit_code == 0, result.stderr
    direct = json.loads(runner.invoke(app, ["infer", ".elser_model_2_linux-x86_64", "the cat sat on the mat"]).stdout)
    assert json.loads(result.stdout) == direct
