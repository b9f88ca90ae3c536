"""Fakes of the OpenAI-compatible providers (``models/services/remote/providers.py``) on 127.0.0.1.

One :class:`FakeCompatible` per provider: bearer auth, the provider's paths, its chat fields (through
:class:`~tests.fakes.openai.FakeOpenAI` with that provider's documented keys), and its embeddings and rerank
shapes, each rejecting what the provider would reject (unknown fields, missing required ones, too many inputs).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.fakes.openai import CHAT_KEYS, FakeOpenAI, openai_error
from tests.fakes.server import Recorded, Reject, Reply, bearer_key, deterministic_vector

BASE_CHAT = {"model", "messages", "stream", "stop", "temperature", "top_p", "tools", "tool_choice"}
# Each provider's documented chat request fields (see the citations in providers.py)
CHAT_FIELDS = {
    "deepseek": BASE_CHAT | {"max_tokens", "stream_options", "frequency_penalty", "presence_penalty"},
    "groq": (set(CHAT_KEYS) | {"reasoning_effort"}) - {"max_tokens"},
    "ai21": BASE_CHAT | {"max_tokens", "n"},
    "llama": set(CHAT_KEYS),
    "nvidia": BASE_CHAT | {"max_tokens", "stream_options", "n"},
    "openshift_ai": set(CHAT_KEYS),
    "fireworksai": BASE_CHAT | {"max_tokens", "n", "user", "reasoning_effort"},
}


@dataclass
class FakeCompatible:
    """Plays ``provider`` (a name in CHAT_FIELDS / EMBED_SHAPES / RERANK_SHAPES) at the given paths."""

    provider: str
    api_key: str | None
    dims: int = 4
    paths: dict[str, str] = field(default_factory=lambda: {"embed": "/embed", "rerank": "/rerank", "chat": "/chat"})
    max_batch: int = 2048
    scores: dict[str, float] = field(default_factory=dict)  # document → score; default: by length
    reasoning_key: str | None = None  # the delta field a reasoning model streams its thinking in

    def __post_init__(self) -> None:
        self.chat = FakeOpenAI(self.api_key or "", chat_path=self.paths["chat"],
                               chat_keys=frozenset(CHAT_FIELDS.get(self.provider, CHAT_KEYS)),
                               require_model=self.provider != "openshift_ai", reasoning_key=self.reasoning_key)

    def __call__(self, request: Recorded) -> Reply:
        if self.api_key is not None and bearer_key(request) != self.api_key:
            raise openai_error(401, "Invalid API key", "invalid_api_key")
        if request.method != "POST":
            raise openai_error(405, "Method not allowed")
        body = request.json()
        if request.path == self.paths["chat"]:
            return self.chat.chat(body)
        if request.path == self.paths["embed"]:
            return self.embed(body)
        if request.path == self.paths["rerank"]:
            return self.rerank(body)
        raise openai_error(404, f"Invalid URL (POST {request.path})")

    # ---- embeddings ---------------------------------------------------------------------------------------------

    def _vectors(self, texts: Any, dims: int | None = None) -> list[list[float]]:
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            raise Reject(422, {"detail": [{"msg": "input must be a non-empty list of strings"}]})
        if len(texts) > self.max_batch:
            raise Reject(413, {"error": {"message": f"at most {self.max_batch} inputs per request"}})
        return [deterministic_vector(t, dims or self.dims) for t in texts]

    def embed(self, body: dict[str, Any]) -> Reply:
        allowed = EMBED_SHAPES[self.provider]
        unknown = set(body) - allowed["fields"]
        missing = allowed["required"] - set(body)
        if unknown or missing:
            raise Reject(400, {"error": {"message": f"unknown fields {sorted(unknown)}, missing {sorted(missing)}"}})
        if self.provider == "llama":
            return Reply(200, {"embeddings": self._vectors(body["contents"])})
        if self.provider == "nvidia" and body["input_type"] not in ("query", "passage"):
            raise Reject(400, {"error": {"message": f"invalid input_type {body['input_type']}"}})
        rows = self._vectors(body["input"], body.get("dimensions"))
        data: list[dict[str, Any]] = []
        for i, row in enumerate(rows):
            value: Any = row
            if body.get("encoding_format") == "base64":
                value = base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": i, "embedding": value})
        return Reply(200, {"object": "list", "data": data[::-1], "model": body.get("model", "served")})

    # ---- rerank -------------------------------------------------------------------------------------------------

    def _score(self, text: str) -> float:
        return self.scores.get(text, 1.0 / (1 + len(text)))

    def rerank(self, body: dict[str, Any]) -> Reply:
        allowed = RERANK_SHAPES[self.provider]
        unknown = set(body) - allowed["fields"]
        missing = allowed["required"] - set(body)
        if unknown or missing:
            raise Reject(400, {"error": {"message": f"unknown fields {sorted(unknown)}, missing {sorted(missing)}"}})
        if self.provider == "nvidia":
            texts = [p["text"] for p in body["passages"]]
            order = sorted(range(len(texts)), key=lambda i: -self._score(texts[i]))
            return Reply(200, {"rankings": [{"index": i, "logit": self._score(texts[i])} for i in order]})
        texts = body["input"] if self.provider == "mixedbread" else body["documents"]
        order = sorted(range(len(texts)), key=lambda i: -self._score(texts[i]))
        limit = body.get("top_k") if self.provider == "mixedbread" else body.get("top_n")
        order = order[:limit] if limit else order
        if self.provider == "mixedbread":
            return Reply(200, {"object": "list", "data": [
                {"index": i, "score": self._score(texts[i]), "object": "rank_result",
                 "input": texts[i] if body.get("return_input") else None} for i in order]})
        return Reply(200, {"results": [{"index": i, "relevance_score": self._score(texts[i])} for i in order]})


def _shape(required: set[str], optional: set[str]) -> dict[str, set[str]]:
    return {"required": required, "fields": required | optional}


EMBED_SHAPES = {
    "llama": _shape({"model_id", "contents"}, set()),
    "nvidia": _shape({"input", "model", "input_type"}, {"truncate", "encoding_format", "user"}),
    "openshift_ai": _shape({"input"}, {"model", "encoding_format", "dimensions", "user"}),
    "fireworksai": _shape({"input", "model"}, {"encoding_format", "dimensions", "user"}),
    "mixedbread": _shape({"input", "model"}, {"dimensions", "prompt", "normalized", "encoding_format"}),
}
RERANK_SHAPES = {
    "nvidia": _shape({"model", "query", "passages"}, {"truncate"}),
    "openshift_ai": _shape({"query", "documents"}, {"model", "top_n", "return_documents"}),
    "contextualai": _shape({"query", "documents", "model"}, {"top_n", "instruction", "metadata"}),
    "mixedbread": _shape({"model", "query", "input"}, {"top_k", "return_input", "rank_fields"}),
    "fireworksai": _shape({"model", "query", "documents"}, {"top_n", "return_documents"}),
}
