"""Fake Gemini API (Google AI Studio) and the shared Gemini response shapes (also used by Vertex AI)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import Recorded, Reject, Reply, deterministic_vector, sse


def google_error(status: int, message: str, reason: str = "INVALID_ARGUMENT") -> Reject:
    """Google's error body."""
    return Reject(status, {"error": {"code": status, "message": message, "status": reason}})


def check_contents(body: dict[str, Any]) -> None:
    """A generateContent body: non-empty ``contents`` of ``{role, parts[{text}]}``."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise google_error(400, "* GenerateContentRequest.contents: contents is not specified")
    for c in contents:
        if c.get("role") not in ("user", "model") or not all("text" in p for p in c.get("parts", [])):
            raise google_error(400, "Invalid value at 'contents'")


def candidate(text: str) -> dict[str, Any]:
    """One GenerateContentResponse."""
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
            "modelVersion": "gemini-fake", "responseId": "r1"}


WORDS = ["Gemini", " is", " here"]


def gemini_reply(body: dict[str, Any], stream: bool) -> Reply:
    """generateContent / streamGenerateContent (SSE)."""
    check_contents(body)
    if not stream:
        return Reply(200, candidate("".join(WORDS)))
    events = [candidate(w) for w in WORDS]
    events[-1]["usageMetadata"] = {"promptTokenCount": 2, "candidatesTokenCount": 3, "totalTokenCount": 5}
    return Reply(200, chunks=sse(events, done=False))


@dataclass
class FakeGoogleAiStudio:
    """Checks requests like ``generativelanguage.googleapis.com/v1beta``."""

    api_key: str
    dims: int = 5

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("x-goog-api-key") != self.api_key:
            raise google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        match = re.fullmatch(r"/v1beta/models/([^/:]+):(\w+)", request.path)
        if not match:
            raise google_error(404, "not found", "NOT_FOUND")
        model, method = match.groups()
        body = request.json()
        if method == "batchEmbedContents":
            requests = body.get("requests")
            if not isinstance(requests, list) or not requests or len(requests) > 100:
                raise google_error(400, "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
            out = []
            for r in requests:
                if r.get("model") != f"models/{model}":
                    raise google_error(400, "Model names should start with `models/` and match the URL")
                text = r["content"]["parts"][0]["text"]
                out.append({"values": deterministic_vector(text, r.get("outputDimensionality", self.dims))})
            return Reply(200, {"embeddings": out})
        if method == "generateContent":
            return gemini_reply(body, stream=False)
        if method == "streamGenerateContent":
            if request.query.get("alt") != ["sse"]:
                raise google_error(400, "this fake only streams with alt=sse")
            return gemini_reply(body, stream=True)
        raise google_error(404, f"method {method} not found", "NOT_FOUND")
