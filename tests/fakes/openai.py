"""Fake OpenAI (and OpenAI-compatible) API: ``/v1/embeddings`` and ``/v1/chat/completions``."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from tests.fakes.server import Recorded, Reject, Reply, bearer_key, deterministic_vector, sse

EMBED_KEYS = {"input", "model", "encoding_format", "dimensions", "user"}
CHAT_KEYS = {"model", "messages", "stream", "stream_options", "n", "user", "tools", "tool_choice", "stop",
             "temperature", "top_p", "max_completion_tokens", "max_tokens"}


def openai_error(status: int, message: str, code: str = "invalid_request_error") -> Reject:
    """OpenAI's error body."""
    return Reject(status, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                     "code": code}})


@dataclass
class FakeOpenAI:
    """Checks requests like OpenAI and answers in its documented shapes."""

    api_key: str
    dims: int = 8
    wrong_dims: int | None = None  # answer vectors of this size instead (a misbehaving server)
    reply_text: str = "Elastic is a search company."
    stream_words: list[str] = field(default_factory=lambda: ["Elastic", " is", " fast", "."])
    chunk_delay_s: float = 0.0
    embeddings_path: str = "/v1/embeddings"
    chat_path: str = "/v1/chat/completions"
    auth: str = "bearer"  # "bearer" or "api-key" (Azure)
    require_model: bool = True  # Azure takes the model from the deployment in the path
    stream_error_after: int | None = None  # send an error object mid-stream after this many chunks
    stream_error_message: str = "The server had an error while processing your request."
    oauth_clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret, for POST /oauth/token
    chat_keys: frozenset[str] = frozenset(CHAT_KEYS)  # the chat body fields this provider documents
    reasoning_key: str | None = None  # stream a reasoning model's thinking first, in this delta field
    reasoning_words: list[str] = field(default_factory=lambda: ["Think", "ing"])
    issued: set[str] = field(default_factory=set)

    def check_auth(self, request: Recorded) -> None:
        """401 with OpenAI's message; it quotes the key it received (the client must scrub it)."""
        given = bearer_key(request) if self.auth == "bearer" else request.headers.get("api-key")
        if given != self.api_key and bearer_key(request) not in self.issued:
            raise openai_error(401, f"Incorrect API key provided: {given}.", "invalid_api_key")

    def __call__(self, request: Recorded) -> Reply:
        if request.method != "POST":
            raise openai_error(405, "Method not allowed")
        if request.path == "/oauth/token":
            return self.token(request)
        self.check_auth(request)
        if request.path == self.embeddings_path:
            return self.embeddings(request.json())
        if request.path == self.chat_path:
            return self.chat(request.json())
        raise openai_error(404, f"Invalid URL (POST {request.path})")

    def token(self, request: Recorded) -> Reply:
        """An OAuth 2.0 client-credentials token endpoint (RFC 6749 §4.4)."""
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            raise Reject(400, {"error": "unsupported_grant_type"})
        if self.oauth_clients.get(form.get("client_id", "")) != form.get("client_secret"):
            raise Reject(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
        token = f"oauth-token-{len(self.issued) + 1}-{form.get('scope', '')}"
        self.issued.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def embeddings(self, body: dict[str, Any]) -> Reply:
        """``POST /v1/embeddings``."""
        unknown = set(body) - EMBED_KEYS
        if unknown:
            raise openai_error(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        if self.require_model and not isinstance(body.get("model"), str):
            raise openai_error(400, "you must provide a model parameter")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
            raise openai_error(400, "'input' must be a non-empty string or array of strings")
        if len(inputs) > 2048:
            raise openai_error(400, "'input' : maximum batch size is 2048")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise openai_error(400, f"'{fmt}' is not one of ['float', 'base64'] - 'encoding_format'")
        dims = body.get("dimensions", self.dims)
        if not isinstance(dims, int) or dims < 1:
            raise openai_error(400, "dimensions must be a positive integer")
        size = self.wrong_dims or dims
        data = []
        for i, text in enumerate(inputs):
            vector = deterministic_vector(text, size)
            encoded: Any = vector
            if fmt == "base64":
                encoded = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        data.reverse()  # the client must order by index, not by position
        tokens = sum(len(t.split()) for t in inputs)
        return Reply(200, {"object": "list", "data": data, "model": body.get("model", "azure-deployment"),
                           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
                     {"x-ratelimit-limit-requests": "3000", "x-ratelimit-remaining-requests": "2999"})

    def chat(self, body: dict[str, Any]) -> Reply:
        """``POST /v1/chat/completions``, streamed when ``stream`` is true."""
        unknown = set(body) - self.chat_keys
        if unknown:
            raise openai_error(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant", "tool", "developer")
                for m in messages):
            raise openai_error(400, "Invalid 'messages': expected a non-empty array of messages with a role")
        if self.require_model and not isinstance(body.get("model"), str):
            raise openai_error(400, "you must provide a model parameter")
        body.setdefault("model", "azure-deployment")
        if not body.get("stream"):
            return Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply_text},
                                            "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}})
        chunks = []
        if self.reasoning_key is not None:  # DeepSeek: reasoning_content, Groq: reasoning
            chunks += [{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
                        "choices": [{"index": 0, "delta": {self.reasoning_key: w}, "finish_reason": None}]}
                       for w in self.reasoning_words]
        for i, word in enumerate(self.stream_words):
            delta = {"content": word, **({"role": "assistant"} if i == 0 else {})}
            chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": body["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": body["model"], "choices": [],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
        if self.stream_error_after is not None:
            chunks = [*chunks[: self.stream_error_after],
                      {"error": {"message": self.stream_error_message,
                                 "type": "server_error"}}]
        return Reply(200, chunks=sse(chunks), chunk_delay_s=self.chunk_delay_s)
