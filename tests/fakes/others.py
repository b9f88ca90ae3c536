"""Fakes for Anthropic, Hugging Face (TEI), Jina AI and Voyage AI."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.fakes.cohere import score
from tests.fakes.openai import FakeOpenAI
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

BASE64 = re.compile(r"(data:image/[a-z0-9.+-]+;base64,)?[A-Za-z0-9+/]+={0,2}")


def image_ok(value: object) -> bool:
    """An image as Jina and Voyage take it: an http(s) URL, or base64 (a data URI or bare)."""
    return isinstance(value, str) and (value.startswith(("https://", "http://")) or bool(BASE64.fullmatch(value)))


def media_key(kind: str, value: str) -> str:
    """What a fake embeds for one item: its text, or the image tagged as one (so text "x" and image "x" differ)."""
    return value if kind == "text" else f"{kind}:{value}"


def jina_item(item: object) -> str:
    """One ``input`` item of Jina's multimodal models: ``{"text": ...}`` or ``{"image": ...}``, nothing else."""
    if not isinstance(item, dict) or len(item) != 1 or not (
            isinstance(item.get("text"), str) or image_ok(item.get("image"))):
        raise Reject(422, {"detail": [{"msg": "each input object takes one of text or image (URL or base64)"}]})
    kind = next(iter(item))
    return media_key(kind, item[kind])


VOYAGE_IMAGE_URI = re.compile(r"data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}")


def voyage_input(item: object) -> str:
    """One ``inputs`` item of Voyage's multimodal API: ``{"content": [...]}`` of text, ``image_url`` or
    ``image_base64`` (a data URL of png, jpeg, webp or gif) pieces; the key of the one vector it makes."""
    content = item.get("content") if isinstance(item, dict) and set(item) == {"content"} else None
    if not isinstance(content, list) or not content:
        raise Reject(400, {"detail": "Each input must be an object with a non-empty content list."})
    keys = []
    for piece in content:
        kind = piece.get("type") if isinstance(piece, dict) else None
        if kind not in ("text", "image_url", "image_base64") or set(piece) != {"type", kind} or not isinstance(
                piece[kind], str):
            raise Reject(400, {"detail": "content items are {type: text, text} | {type: image_url, image_url} | "
                                         "{type: image_base64, image_base64}"})
        if kind == "image_base64" and not VOYAGE_IMAGE_URI.fullmatch(piece[kind]):
            raise Reject(400, {"detail": "image_base64 must be a data URL: data:image/<type>;base64,<data>"})
        keys.append(media_key("text" if kind == "text" else "image", piece[kind]))
    return "+".join(keys)


def b64(vector: list[float]) -> str:
    """Little-endian float32, base64."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


@dataclass
class FakeAnthropic:
    """``POST /v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    api_key: str

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("x-api-key") != self.api_key:
            raise Reject(401, {"type": "error", "error": {"type": "authentication_error",
                                                          "message": "invalid x-api-key"}})
        if request.headers.get("anthropic-version") != "2023-06-01":
            raise Reject(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                          "message": "anthropic-version header is required"}})
        if request.path != "/v1/messages":
            raise Reject(404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})
        body = request.json()
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                raise Reject(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                              "message": f"{key}: Field required"}})
        words = ["Claude", " is", " here"]
        if not body.get("stream"):
            return Reply(200, {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                               "content": [{"type": "text", "text": "".join(words)}], "stop_reason": "end_turn",
                               "usage": {"input_tokens": 3, "output_tokens": 3}})
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": []}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "ping"},
        ]
        events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
                   for w in words]
        events += [{"type": "content_block_stop", "index": 0},
                   {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
                   {"type": "message_stop"}]
        return Reply(200, chunks=sse(events, event_names=[e["type"] for e in events], done=False))


@dataclass
class FakeHuggingFace:
    """A TEI-style Inference Endpoint: embeddings at ``/embed``, rerank at ``/rerank``, chat via OpenAI."""

    api_key: str
    dims: int = 4

    def __call__(self, request: Recorded) -> Reply:
        if bearer_key(request) != self.api_key:
            raise Reject(401, {"error": "Authorization header is correct, but the token seems invalid"})
        body = request.json()
        if request.path == "/embed":
            inputs = body.get("inputs")
            if not isinstance(inputs, list) or len(inputs) > 32:
                raise Reject(413, {"error": "batch size > 32", "error_type": "Validation"})
            return Reply(200, [deterministic_vector(t, self.dims) for t in inputs])
        if request.path == "/rerank":
            if not isinstance(body.get("query"), str) or not isinstance(body.get("texts"), list):
                raise Reject(422, {"error": "query and texts are required", "error_type": "Validation"})
            hits: list[dict[str, Any]] = [
                {"index": i, "score": score(body["query"], t), **({"text": t} if body.get("return_text") else {})}
                for i, t in enumerate(body["texts"])]
            return Reply(200, sorted(hits, key=lambda h: -float(h["score"])))
        if request.path == "/v1/chat/completions":
            return FakeOpenAI(self.api_key).chat(body)
        raise Reject(404, {"error": "not found"})


@dataclass
class FakeJina:
    """``https://api.jina.ai/v1/embeddings`` and ``/v1/rerank``."""

    api_key: str
    dims: int = 4

    def __call__(self, request: Recorded) -> Reply:
        if bearer_key(request) != self.api_key:
            raise Reject(401, {"detail": "Unauthorized: invalid API key"})
        body = request.json()
        if request.path == "/v1/embeddings":
            allowed = {"model", "input", "task", "dimensions", "late_chunking", "embedding_type", "normalized"}
            if set(body) - allowed or not isinstance(body.get("input"), list) or not body["input"]:
                raise Reject(422, {"detail": [{"msg": "invalid request body"}]})
            texts = body["input"]
            if not all(isinstance(t, str) for t in texts):  # the multimodal models' objects, never mixed with strings
                texts = [jina_item(t) for t in texts]
            if body.get("task") not in (None, "retrieval.query", "retrieval.passage", "separation",
                                        "classification", "text-matching"):
                raise Reject(422, {"detail": [{"msg": "invalid task"}]})
            dims = body.get("dimensions", self.dims)
            kind = body.get("embedding_type", "float")
            if kind not in ("float", "base64", "binary", "ubinary"):
                raise Reject(422, {"detail": [{"msg": "invalid embedding_type"}]})
            data = [{"object": "embedding", "index": i,
                     "embedding": b64(deterministic_vector(t, dims)) if kind == "base64"
                     else packed_bits(deterministic_vector(t, dims)) if kind == "binary"
                     else deterministic_vector(t, dims)} for i, t in enumerate(texts)]
            return Reply(200, {"model": body["model"], "object": "list", "data": data, "usage": {"total_tokens": 1}})
        if request.path == "/v1/rerank":
            hits: list[dict[str, Any]] = [{"index": i, "relevance_score": score(body["query"], d),
                                           **({"document": {"text": d}} if body.get("return_documents") else {})}
                                          for i, d in enumerate(body["documents"])]
            hits.sort(key=lambda h: -float(h["relevance_score"]))
            return Reply(200, {"model": body["model"], "results": hits[: body.get("top_n") or len(hits)]})
        raise Reject(404, {"detail": "Not Found"})


@dataclass
class FakeVoyage:
    """``https://api.voyageai.com/v1/embeddings``, ``/v1/multimodalembeddings`` and ``/v1/rerank``."""

    api_key: str
    dims: int = 4

    def __call__(self, request: Recorded) -> Reply:
        if bearer_key(request) != self.api_key:
            raise Reject(401, {"detail": "Provided API key is invalid."})
        body = request.json()
        if request.path == "/v1/multimodalembeddings":
            allowed = {"inputs", "model", "input_type", "truncation", "output_encoding"}
            if set(body) - allowed or not isinstance(body.get("inputs"), list) or not 0 < len(body["inputs"]) <= 1000:
                raise Reject(400, {"detail": "Request body is invalid."})
            if body.get("input_type") not in (None, "query", "document") or body.get("output_encoding") not in (
                    None, "base64"):
                raise Reject(400, {"detail": "input_type must be query, document or null"})
            keys = [voyage_input(item) for item in body["inputs"]]
            data = [{"object": "embedding", "index": i,
                     "embedding": b64(deterministic_vector(k, self.dims)) if body.get("output_encoding")
                     else deterministic_vector(k, self.dims)} for i, k in enumerate(keys)]
            return Reply(200, {"object": "list", "data": data, "model": body["model"],
                               "usage": {"text_tokens": 1, "image_pixels": 0, "total_tokens": 1}})
        if request.path == "/v1/embeddings":
            allowed = {"input", "model", "input_type", "truncation", "output_dimension", "output_dtype",
                       "encoding_format"}
            if set(body) - allowed or not isinstance(body.get("input"), list) or len(body["input"]) > 1000:
                raise Reject(400, {"detail": "Request body is invalid."})
            if body.get("input_type") not in (None, "query", "document"):
                raise Reject(400, {"detail": "input_type must be query, document or null"})
            dims = body.get("output_dimension", self.dims)
            dtype = body.get("output_dtype", "float")
            if dtype not in ("float", "int8", "uint8", "binary", "ubinary") or (
                    dtype != "float" and body.get("encoding_format") == "base64"):
                raise Reject(400, {"detail": "output_dtype must be float, int8, uint8, binary or ubinary"})
            quantise = {"int8": int8_vector, "binary": packed_bits}.get(dtype)
            data = [{"object": "embedding", "index": i,
                     "embedding": b64(deterministic_vector(t, dims)) if body.get("encoding_format") == "base64"
                     else quantise(deterministic_vector(t, dims)) if quantise
                     else deterministic_vector(t, dims)} for i, t in enumerate(body["input"])]
            return Reply(200, {"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": 1}})
        if request.path == "/v1/rerank":
            hits = [{"index": i, "relevance_score": score(body["query"], d),
                     **({"document": d} if body.get("return_documents") else {})}
                    for i, d in enumerate(body["documents"])]
            hits.sort(key=lambda h: -float(h["relevance_score"]))
            return Reply(200, {"object": "list", "data": hits[: body.get("top_k") or len(hits)],
                               "model": body["model"], "usage": {"total_tokens": 1}})
        raise Reject(404, {"detail": "Not Found"})
