"""Inference results, one type per task type, each rendering Elasticsearch's response body."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class TaskType(StrEnum):
    """Elasticsearch's ``TaskType``."""

    SPARSE_EMBEDDING = "sparse_embedding"
    TEXT_EMBEDDING = "text_embedding"
    RERANK = "rerank"
    COMPLETION = "completion"
    CHAT_COMPLETION = "chat_completion"
    EMBEDDING = "embedding"


class InputType(StrEnum):
    """Elasticsearch's ``input_type`` values (accepted in either case on the wire)."""

    SEARCH = "search"
    INGEST = "ingest"
    CLASSIFICATION = "classification"
    CLUSTERING = "clustering"


@dataclass
class TextEmbeddingResults:
    """Dense vectors, one row per input, in input order."""

    embeddings: np.ndarray  # shape (n, dims), float32
    task_type: TaskType = TaskType.TEXT_EMBEDDING

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """``{"text_embedding": [{"embedding": [...]}, ...]}``."""
        return {"text_embedding": [{"embedding": row} for row in self.embeddings.astype(float).tolist()]}


@dataclass
class SparseEmbeddingResults:
    """Token → weight maps, one per input, with whether the input was truncated."""

    embeddings: list[dict[str, float]]
    truncated: list[bool] = field(default_factory=list)
    task_type: TaskType = TaskType.SPARSE_EMBEDDING

    def __len__(self) -> int:
        return len(self.embeddings)

    def to_dict(self) -> dict[str, Any]:
        """``{"sparse_embedding": [{"is_truncated": false, "embedding": {...}}, ...]}``."""
        truncated = self.truncated or [False] * len(self.embeddings)
        return {
            "sparse_embedding": [
                {"is_truncated": bool(t), "embedding": {k: float(v) for k, v in e.items()}}
                for e, t in zip(self.embeddings, truncated, strict=True)
            ]
        }


@dataclass
class RankedDocument:
    """One rerank hit: position in the input list, score, and the text when documents are returned."""

    index: int
    relevance_score: float
    text: str | None = None


@dataclass
class RerankResults:
    """Rerank hits sorted by score, highest first."""

    ranked: list[RankedDocument]
    task_type: TaskType = TaskType.RERANK

    def __len__(self) -> int:
        return len(self.ranked)

    def to_dict(self) -> dict[str, Any]:
        """``{"rerank": [{"index", "relevance_score", "text"?}, ...]}``."""
        out = []
        for doc in self.ranked:
            item: dict[str, Any] = {"index": doc.index, "relevance_score": float(doc.relevance_score)}
            if doc.text is not None:
                item["text"] = doc.text
            out.append(item)
        return {"rerank": out}


@dataclass
class CompletionResults:
    """Completion texts."""

    results: list[str]
    task_type: TaskType = TaskType.COMPLETION

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        """``{"completion": [{"result": "..."}]}``."""
        return {"completion": [{"result": r} for r in self.results]}


InferenceResults = TextEmbeddingResults | SparseEmbeddingResults | RerankResults | CompletionResults
