"""Inference results, one type per task type, each rendering Elasticsearch's response body."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from ingest.models.jsontypes import JsonObject, JsonValue


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


ELEMENT_TYPES = ("float", "byte", "bit")
_RESULT_KEYS = {TaskType.TEXT_EMBEDDING: "text_embedding", TaskType.EMBEDDING: "embeddings"}
_SUFFIXES = {"float": "", "byte": "_bytes", "bit": "_bits"}


@dataclass
class TextEmbeddingResults:
    """Dense vectors, one row per input, in input order (``text_embedding`` or the generic ``embedding`` task).

    ``element_type`` is Elasticsearch's: ``float``; ``byte`` (int8 values); ``bit`` (each value is 8 dimensions
    packed into a signed byte, so a row holds dims / 8 values). Byte and bit values are kept as exact integers in
    the float32 array and rendered as integers under Elasticsearch's keys: ``text_embedding_bytes`` /
    ``text_embedding_bits`` (``embeddings_bytes`` / ``embeddings_bits`` for the ``embedding`` task).
    """

    embeddings: npt.NDArray[np.float32]  # shape (n, dims) — (n, dims / 8) for bit — float32
    task_type: TaskType = TaskType.TEXT_EMBEDDING
    element_type: str = "float"

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def key(self) -> str:
        """The response key: ``text_embedding``, ``text_embedding_bytes``, ``embeddings_bits`` ..."""
        return _RESULT_KEYS.get(self.task_type, "text_embedding") + _SUFFIXES[self.element_type]

    def to_dict(self) -> JsonObject:
        """``{"text_embedding": [{"embedding": [...]}, ...]}`` (or the bytes / bits / ``embeddings`` variant)."""
        kind = float if self.element_type == "float" else int
        return {self.key: [{"embedding": row} for row in self.embeddings.astype(kind).tolist()]}


@dataclass
class SparseEmbeddingResults:
    """Token → weight maps, one per input, with whether the input was truncated."""

    embeddings: list[dict[str, float]]
    truncated: list[bool] = field(default_factory=list)
    task_type: TaskType = TaskType.SPARSE_EMBEDDING

    def __len__(self) -> int:
        return len(self.embeddings)

    def to_dict(self) -> JsonObject:
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

    def to_dict(self) -> JsonObject:
        """``{"rerank": [{"index", "relevance_score", "text"?}, ...]}``."""
        out: list[JsonValue] = []
        for doc in self.ranked:
            item: JsonObject = {"index": doc.index, "relevance_score": float(doc.relevance_score)}
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

    def to_dict(self) -> JsonObject:
        """``{"completion": [{"result": "..."}]}``."""
        return {"completion": [{"result": r} for r in self.results]}


InferenceResults = TextEmbeddingResults | SparseEmbeddingResults | RerankResults | CompletionResults
