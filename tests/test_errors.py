"""Elasticsearch's error envelope and result bodies."""

from __future__ import annotations

import numpy as np

from ingest.models.errors import ResourceNotFoundException, StatusException, ValidationException
from ingest.models.results import SparseEmbeddingResults, TextEmbeddingResults


def test_error_envelope_matches_elasticsearch() -> None:
    err = ResourceNotFoundException("Inference endpoint not found [x]")
    assert err.to_dict() == {
        "error": {
            "root_cause": [{"type": "resource_not_found_exception", "reason": "Inference endpoint not found [x]"}],
            "type": "resource_not_found_exception",
            "reason": "Inference endpoint not found [x]",
        },
        "status": 404,
    }


def test_caused_by_and_status_override() -> None:
    inner = StatusException("upstream said no", status=429)
    outer = StatusException("Could not complete inference endpoint creation", caused_by=inner)
    body = outer.to_dict()
    assert body["status"] == 400
    assert body["error"]["caused_by"] == {"type": "status_exception", "reason": "upstream said no"}


def test_validation_message_numbers_problems() -> None:
    err = ValidationException(["[a] is required", "unknown setting [b]"])
    assert err.reason == "Validation Failed: 1: [a] is required;2: unknown setting [b];"


def test_result_bodies() -> None:
    dense = TextEmbeddingResults(np.array([[0.5, -0.25]], dtype=np.float32))
    assert dense.to_dict() == {"text_embedding": [{"embedding": [0.5, -0.25]}]}
    sparse = SparseEmbeddingResults([{"cat": 2.5}], [True])
    assert sparse.to_dict() == {"sparse_embedding": [{"is_truncated": True, "embedding": {"cat": 2.5}}]}
