"""Fake Cohere v2 API: ``/v2/embed``, ``/v2/rerank``, ``/v2/chat``."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.fakes.server import (
    Recorded,
    Reject,
    Reply,
    bearer_key,
    deterministic_vector,
    int8_vector,
    packed_bits,
    sse,
)

EMBED_KEYS = {"model", "texts", "inputs", "input_type", "embedding_types", "truncate", "output_dimension", "max_tokens"}
INPUT_TYPES = {"search_document", "search_query", "classification", "clustering", "image"}
EMBEDDING_TYPES = {"float", "int8", "uint8", "binary", "ubinary", "base64"}


IMAGE_URI = re.compile(r"data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}")


def embed_input(item: object) -> str:
    """One of v2's ``inputs``: ``{"content": [{"type": "text", "text"} | {"type": "image_url", "image_url":
    {"url": <data URI>}}]}``; the key of the one vector it makes (as the other fakes: pieces joined by "+")."""
    content = item.get("content") if isinstance(item, dict) and set(item) == {"content"} else None
    if not isinstance(content, list) or not content:
        raise cohere_error(400, "invalid request: each input needs a non-empty content list")
    keys = []
    for piece in content:
        if isinstance(piece, dict) and piece.get("type") == "text" and set(piece) == {"type", "text"} and isinstance(
                piece["text"], str):
            keys.append(piece["text"])
        elif (isinstance(piece, dict) and piece.get("type") == "image_url" and set(piece) == {"type", "image_url"}
              and isinstance(piece["image_url"], dict) and set(piece["image_url"]) <= {"url", "detail"}
              and IMAGE_URI.fullmatch(str(piece["image_url"].get("url")))):
            keys.append(f"image:{piece['image_url']['url']}")
        else:
            raise cohere_error(400, "invalid request: content items are text or image_url with a data URI url")
    return "+".join(keys)


def cohere_error(status: int, message: str) -> Reject:
    """Cohere's error body: ``{"message": ...}``."""
    return Reject(status, {"message": message})


def score(query: str, doc: str) -> float:
    """A deterministic relevance: shared words."""
    q = set(query.lower().split())
    return round(len(q & set(doc.lower().split())) / (len(q) or 1), 4)


@dataclass
class FakeCohere:
    """Checks requests like Cohere's v2 API."""

    api_key: str
    dims: int = 6

    def __call__(self, request: Recorded) -> Reply:
        if bearer_key(request) != self.api_key:
            raise cohere_error(401, "invalid api token")
        body = request.json()
        version, _, operation = request.path.strip("/").partition("/")
        if version not in ("v1", "v2"):
            raise cohere_error(404, f"path {request.path} not found")
        if operation == "embed":
            if version == "v1" and "base64" in (body.get("embedding_types") or []):
                raise cohere_error(400, "invalid request: embedding_types must be float, int8, uint8, binary, ubinary")
            return self.embed(body)
        if operation == "rerank":
            return self.rerank(body)
        if operation == "chat" and version == "v1":
            if not isinstance(body.get("message"), str):
                raise cohere_error(400, "invalid request: message must be a string")
            return Reply(200, {"text": "Cohere v1 says hi", "generation_id": "g1", "finish_reason": "COMPLETE"})
        if operation == "chat":
            return self.chat(body)
        raise cohere_error(404, f"path {request.path} not found")

    def embed(self, body: dict[str, Any]) -> Reply:
        """``/v2/embed``: texts ≤ 96, input_type required for v3+ models, embedding_types required."""
        if set(body) - EMBED_KEYS:
            raise cohere_error(400, f"invalid request: unknown field {sorted(set(body) - EMBED_KEYS)[0]}")
        if ("texts" in body) == ("inputs" in body):
            raise cohere_error(400, "invalid request: one of texts, images or inputs must be provided")
        texts = body.get("texts", body.get("inputs"))
        if not isinstance(texts, list) or not texts or len(texts) > 96:
            raise cohere_error(400, "invalid request: texts must be a list of 1 to 96 strings")
        if "inputs" in body:
            texts = [embed_input(item) for item in texts]
        if body.get("input_type") not in INPUT_TYPES:
            raise cohere_error(400, "invalid request: valid input_type must be provided with the provided model")
        types = body.get("embedding_types")
        if not isinstance(types, list) or not types or set(types) - EMBEDDING_TYPES:
            raise cohere_error(400, "invalid request: embedding_types must be provided")
        if body.get("truncate") not in (None, "NONE", "START", "END"):
            raise cohere_error(400, "invalid request: truncate must be one of NONE, START, END")
        vectors = [deterministic_vector(t, self.dims) for t in texts]
        embeddings: dict[str, Any] = {}
        for kind in types:
            if kind == "float":
                embeddings["float"] = vectors
            elif kind == "base64":
                embeddings["base64"] = [base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
                                        for v in vectors]
            elif kind in ("binary", "ubinary"):
                packed = [packed_bits(v) for v in vectors]
                embeddings[kind] = packed if kind == "binary" else [[b % 256 for b in row] for row in packed]
            else:
                embeddings[kind] = [int8_vector(v) for v in vectors]
        return Reply(200, {"id": "e1", "embeddings": embeddings, "texts": texts,
                           "meta": {"api_version": {"version": "2"}}})

    def rerank(self, body: dict[str, Any]) -> Reply:
        """``/v2/rerank``."""
        if set(body) - {"model", "query", "documents", "top_n", "return_documents", "max_tokens_per_doc",
                        "rank_fields", "max_chunks_per_doc"}:
            raise cohere_error(400, "invalid request: unknown field")
        if not isinstance(body.get("query"), str) or not isinstance(body.get("documents"), list):
            raise cohere_error(400, "invalid request: query and documents are required")
        if not isinstance(body.get("model"), str):
            raise cohere_error(400, "invalid request: model is required")
        hits = sorted(({"index": i, "relevance_score": score(body["query"], d)}
                       for i, d in enumerate(body["documents"])), key=lambda h: -h["relevance_score"])
        if body.get("top_n"):
            hits = hits[: body["top_n"]]
        return Reply(200, {"id": "r1", "results": hits, "meta": {}})

    def chat(self, body: dict[str, Any]) -> Reply:
        """``/v2/chat``, streamed as typed events when ``stream`` is true."""
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise cohere_error(400, "invalid request: messages is required")
        words = ["Cohere", " says", " hi"]
        if not body.get("stream"):
            return Reply(200, {"id": "c1", "finish_reason": "COMPLETE",
                               "message": {"role": "assistant", "content": [{"type": "text", "text": "".join(words)}]}})
        events: list[dict[str, Any]] = [{"type": "message-start", "id": "c1"}]
        events += [{"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": w}}}} for w in words]
        events.append({"type": "message-end", "delta": {"finish_reason": "COMPLETE"}})
        return Reply(200, chunks=sse(events, event_names=[e["type"] for e in events], done=False))
