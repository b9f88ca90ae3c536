"""Local rerank: a tiny seeded cross-encoder (BERT and XLM-R sequence classification) imported from a Hugging
Face folder, checked against a plain numpy forward pass, then served by the ``elasticsearch`` service."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from ingest.models.api import InferenceAPI
from ingest.models.convert.weights import ClassifierHead, Dense, EncoderWeights
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException, StatusException
from ingest.models.imported import import_model, resolve_variant
from ingest.models.results import RerankResults, TaskType
from ingest.models.runtime import load_model
from ingest.models.trained_models import model_config
from tests.models.hf_folder import write_hf_folder
from tests.models.reference_numpy import cross_encoder_score
from tests.models.test_imported import _weights
from tests.models.tiny import make_tiny_model

QUERY = "where did the cat sit"
DOCS = ["the cat sat on the mat", "hello world", "a dog on a mat", "search query passage"]


def _cross_encoder(seed: int = 11) -> EncoderWeights:
    rng = np.random.default_rng(seed)
    h = 32
    head = ClassifierHead(
        Dense((rng.standard_normal((h, h)) * 0.3).astype(np.float32), (rng.standard_normal(h) * 0.1).astype(np.float32)),
        Dense((rng.standard_normal((h, 1)) * 0.5).astype(np.float32), np.array([0.1], np.float32)),
    )
    return dataclasses.replace(_weights(7, False), classifier=head)


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path, EncoderWeights]:
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    w = _cross_encoder()
    bert = write_hf_folder(w, tmp_path / "bert-ce", tiny.tokenizer_path, masked_lm=False)
    xlmr = write_hf_folder(w, tmp_path / "xlmr-ce", tiny.tokenizer_path, masked_lm=False, xlm_roberta=True)
    return bert, xlmr, w


def _reference(folder: Path, w: EncoderWeights, prefix: str) -> list[float]:
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    table = load_file(str(folder / "model.safetensors"))[f"{prefix}embeddings.token_type_embeddings.weight"]
    scores = []
    for doc in DOCS:
        enc = tok.encode(QUERY, doc)
        assert 1 in enc.type_ids  # the pair's second text is segment 1
        scores.append(cross_encoder_score(w, enc.ids, table, enc.type_ids))
    return scores


@pytest.mark.parametrize("xlm_roberta", [False, True])
def test_imported_cross_encoder_matches_numpy(folders: tuple[Path, Path, EncoderWeights], ingest_home: Path,
                                              private_cache: Path, xlm_roberta: bool) -> None:
    bert, xlmr, w = folders
    folder = xlmr if xlm_roberta else bert
    spec = import_model(folder, "ce", TaskType.RERANK)
    assert spec.task_type == TaskType.RERANK and spec.dims is None
    with load_model("ce") as model:
        got = model.rerank(QUERY, DOCS)
    expected = _reference(folder, w, "roberta." if xlm_roberta else "")
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert len(set(np.round(got, 4))) == len(DOCS)  # a real ranking, not a constant


def test_import_refuses_checkpoints_without_a_single_label_head(tmp_path: Path, ingest_home: Path,
                                                               private_cache: Path) -> None:
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    plain = write_hf_folder(_weights(7, False), tmp_path / "plain", tiny.tokenizer_path, masked_lm=False)
    with pytest.raises(IllegalArgumentException, match="BertForSequenceClassification"):
        import_model(plain, "plain", TaskType.RERANK)
    w = _cross_encoder()
    two = dataclasses.replace(w, classifier=ClassifierHead(w.classifier.dense, Dense(  # type: ignore[union-attr]
        np.zeros((32, 2), np.float32), np.zeros(2, np.float32))))
    with pytest.raises(IllegalArgumentException, match="has 2 labels"):
        import_model(write_hf_folder(two, tmp_path / "two", tiny.tokenizer_path, masked_lm=False), "two",
                     TaskType.RERANK)


def test_rerank_endpoint_top_n_and_return_documents(folders: tuple[Path, Path, EncoderWeights], ingest_home: Path,
                                                    private_cache: Path) -> None:
    bert, _, w = folders
    import_model(bert, "ce", TaskType.RERANK)
    listed = model_config(resolve_variant("ce"), definition_status=False)  # as GET _ml/trained_models/ce shows it
    assert set(listed["inference_config"]) == {"text_similarity"}  # Eland's task type for cross-encoders
    expected = _reference(bert, w, "")
    order = sorted(range(len(DOCS)), key=lambda i: -expected[i])
    api = InferenceAPI()
    try:
        api.put("rr", {"service": "elasticsearch", "service_settings": {
            "model_id": "ce", "num_threads": 1, "num_allocations": 1}}, task_type="rerank")
        out = api.infer("rr", DOCS, query=QUERY)
        assert isinstance(out, RerankResults)
        body = out.to_dict()["rerank"]
        assert [d["index"] for d in body] == order
        assert body[0]["text"] == DOCS[order[0]]  # return_documents defaults to true
        assert body[0]["relevance_score"] == pytest.approx(expected[order[0]], abs=1e-4)
        top = api.infer("rr", DOCS, query=QUERY, top_n=2, return_documents=False).to_dict()["rerank"]
        assert [d["index"] for d in top] == order[:2] and "text" not in top[0]
        api.put("rr-nodocs", {"service": "elasticsearch", "task_settings": {"return_documents": False},
                              "service_settings": {"model_id": "ce", "num_threads": 1, "num_allocations": 1}},
                task_type="rerank")
        assert "text" not in api.infer("rr-nodocs", DOCS, query=QUERY).to_dict()["rerank"][0]
        assert "text" in api.infer("rr-nodocs", DOCS, query=QUERY,
                                   task_settings={"return_documents": True}).to_dict()["rerank"][0]
    finally:
        api.close()


def test_elastic_reranker_is_refused_with_the_reason(ingest_home: Path) -> None:
    api = InferenceAPI()
    try:
        with pytest.raises(StatusException, match="not distributed on PyPI"):
            api.put("elastic-rr", {"service": "elasticsearch", "service_settings": {
                "model_id": ".rerank-v1", "num_threads": 1, "num_allocations": 1}}, task_type="rerank")
        with pytest.raises(ResourceNotFoundException, match=r"\[\.rerank-v1\] \(Elastic Rerank\) is not available"):
            api.infer(".rerank-v1-elasticsearch", DOCS, query=QUERY)
    finally:
        api.close()
