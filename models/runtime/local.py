"""LocalModel: a built ONNX encoder plus its tokenizer, answering embedding requests in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnxruntime as ort

from ingest.models.cache import BuiltModel
from ingest.models.catalogue import Pooling
from ingest.models.errors import ModelError
from ingest.models.results import InputType, SparseEmbeddingResults, TaskType, TextEmbeddingResults
from ingest.models.runtime.batching import (
    DEFAULT_MAX_BATCH,
    DEFAULT_TOKEN_BUDGET,
    pad_batch,
    plan_batches,
    sparse_token_budget,
)
from ingest.models.runtime.session import open_session
from ingest.models.runtime.sparse import decode_sparse
from ingest.models.runtime.tokenize import Encoded, TextEncoder


class LocalModel:
    """Runs one built model on onnxruntime's CPU provider.

    Thread-safe: ``embed`` may be called from several threads at once (onnxruntime's ``run`` is thread-safe
    and the tokenizer is read-only after construction). Each call uses up to ``threads`` cores inside the
    forward pass; callers that want more throughput on a small machine should batch rather than add threads.
    """

    def __init__(
        self,
        built: BuiltModel,
        *,
        threads: int = 1,
        token_budget: int | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        spin: bool = False,
    ) -> None:
        self.built = built
        self.spec = built.spec
        self.threads = threads
        self.max_batch = max_batch
        self.encoder = TextEncoder(built.tokenizer_path, built.spec)
        session = open_session(built.onnx_path, threads, spin=spin, model_id=built.spec.model_id)
        output = session.get_outputs()[0]
        self._session: ort.InferenceSession | None = session
        self._output = output.name
        self._segments = any(i.name == "token_type_ids" for i in session.get_inputs())
        self.vocabulary = self._output_vocabulary(output.shape)
        if token_budget is None:  # sparse heads are bounded by their [tokens, vocabulary] logits
            sparse = sparse_token_budget(len(self.vocabulary), self.spec.max_tokens)
            token_budget = sparse if self.is_sparse else DEFAULT_TOKEN_BUDGET
        self.token_budget = token_budget

    def _output_vocabulary(self, shape: Sequence[object]) -> list[str]:
        """Token names for the sparse output columns, one per column (the graph's V can exceed the vocab)."""
        vocab = list(self.encoder.vocabulary)
        width = shape[-1] if shape else None
        if self.is_sparse and isinstance(width, int) and width > len(vocab):
            vocab += [f"[unused{i}]" for i in range(len(vocab), width)]
        return vocab

    @property
    def task_type(self) -> TaskType:
        """The model's task type (text_embedding or sparse_embedding)."""
        return self.spec.task_type

    @property
    def is_reranker(self) -> bool:
        """True for cross-encoders (one relevance score per query and text)."""
        return self.spec.pooling == Pooling.CLASSIFY

    def rerank(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance scores (the cross-encoder's logit) of each text for ``query``, in input order."""
        if not self.is_reranker:
            raise ModelError(f"model [{self.spec.model_id}] is not a rerank model")
        return self._forward(self.encoder.encode_pairs(query, texts))[:, 0]

    @property
    def is_sparse(self) -> bool:
        """True for SPLADE-pooled models (output is one weight per vocabulary entry)."""
        return self.spec.pooling == Pooling.SPLADE

    def embed(
        self, texts: Sequence[str], input_type: InputType | str | None = None
    ) -> TextEmbeddingResults | SparseEmbeddingResults:
        """Embed ``texts``; one result per text, in input order.

        ``input_type`` selects the model's prefix (``search`` → ``query: ``, ``ingest`` → ``passage: `` for
        E5). Texts longer than the model's max tokens are truncated; see ``ingest.models.runtime.tokenize`` for the
        rules on empty, non-string and malformed input.
        """
        if isinstance(texts, str):
            texts = [texts]
        encoded = self.encoder.encode(texts, input_type)
        rows = self._forward(encoded)
        if self.is_sparse:
            vocab = self.vocabulary
            return SparseEmbeddingResults(
                embeddings=[decode_sparse(row, vocab) for row in rows],
                truncated=[e.truncated for e in encoded],
            )
        dims = self.spec.dims or (rows.shape[1] if rows.ndim == 2 else 0)
        return TextEmbeddingResults(embeddings=rows.reshape(len(encoded), dims))

    def embed_arrays(self, texts: Sequence[str], input_type: InputType | str | None = None) -> np.ndarray:
        """The raw model output [n, D] (dense vectors, or vocabulary-sized sparse weights) in input order."""
        return self._forward(self.encoder.encode(texts, input_type))

    def count_tokens(self, texts: Sequence[str], input_type: InputType | str | None = None) -> list[int]:
        """Token count of each text as the model would see it before truncation (special tokens included)."""
        return self.encoder.count_tokens(texts, input_type)

    def _forward(self, encoded: list[Encoded], progress: Callable[[int], None] | None = None) -> np.ndarray:
        session = self._session
        if session is None:
            raise ModelError(f"model [{self.spec.model_id}] is closed")
        width = len(self.vocabulary) if self.is_sparse else 1 if self.is_reranker else (self.spec.dims or 0)
        if not encoded:
            return np.zeros((0, width), dtype=np.float32)
        lengths = [len(e.ids) for e in encoded]
        out: np.ndarray | None = None
        for batch in plan_batches(lengths, token_budget=self.token_budget, max_batch=self.max_batch):
            input_ids, mask = pad_batch([encoded[i].ids for i in batch], self.encoder.pad_id)
            feed = {"input_ids": input_ids, "attention_mask": mask}
            if self._segments:
                feed["token_type_ids"] = pad_batch([encoded[i].type_ids or [] for i in batch], 0)[0]
            try:
                (result,) = session.run([self._output], feed)
            except Exception as exc:  # ORT's own error types; surface them as a model error with context
                raise ModelError(f"inference failed for model [{self.spec.model_id}]: {exc}") from exc
            if out is None:
                out = np.empty((len(encoded), result.shape[1]), dtype=np.float32)
            out[batch] = result  # scatter back: restores input order
            if progress is not None:
                progress(len(batch))
        assert out is not None
        return out

    def close(self) -> None:
        """Release the onnxruntime session. Further calls raise a ModelError."""
        # Calls already running keep their reference to the session and finish normally.
        self._session = None

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
