"""Fake Gemini API (Google AI Studio) and the shared Gemini response shapes (also used by Vertex AI)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import Recorded, Reject, Reply, deterministic_vector, sse

# EmbedContentRequest's fields and TaskType values, from the Gemini API reference (models.embedContent)
EMBED_REQUEST_KEYS = {"model", "content", "taskType", "title", "outputDimensionality"}
TASK_TYPES = {"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
              "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}


def quota_exceeded(retry_delay: str) -> Reply:
    """The Gemini API's 429: no Retry-After header, the delay in a ``google.rpc.RetryInfo`` detail."""
    return Reply(429, {"error": {"code": 429, "message": "You exceeded your current quota.", "status": "RESOURCE_EXHAUSTED",
                                 "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                                             {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                              "retryDelay": retry_delay}]}})


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
    task_types: list[str | None] = field(default_factory=list)  # the taskType of each embedded text, in order

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
                unknown = set(r) - EMBED_REQUEST_KEYS
                if unknown:  # the API rejects unknown fields (proto JSON), e.g. a snake_case "input_type"
                    raise google_error(400, f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}"')
                if "taskType" in r and r["taskType"] not in TASK_TYPES:
                    raise google_error(400, f"Invalid value at 'requests[0].task_type' ({r['taskType']})")
                self.task_types.append(r.get("taskType"))
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
