"""The OpenAI wire shapes, shared by the providers that speak them (OpenAI, Azure OpenAI, Mistral, HF, ...).

Embeddings: ``{"input": [...], "model": ..., "encoding_format": "base64"}`` →
``{"data": [{"index": i, "embedding": <floats or base64 little-endian float32>}]}``.
Chat: ``{"model", "messages", "stream"}`` → ``choices[0].message.content``; streamed as ``chat.completion.chunk``
events ending with ``data: [DONE]``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import UpstreamResponse, provider_message
from ingest.models.services.remote.service import Call, error_object, json_body

# Keys of Elasticsearch's unified chat request that are passed to OpenAI-compatible providers as they are.
CHAT_PASSTHROUGH = ("tools", "tool_choice", "stop", "temperature", "top_p")


@dataclass(frozen=True)
class ChatDialect:
    """How one OpenAI-compatible chat API differs from OpenAI's own (as data, not copies of ``chat_body``).

    ``max_tokens``: the body key carrying the unified request's ``max_completion_tokens`` (Mistral, Hugging Face
    TGI, DeepSeek ... document ``max_tokens``). ``usage_in_stream``: whether it accepts
    ``stream_options.include_usage``. ``n``: whether it accepts ``n`` (a non-streamed completion asks for one).
    Whether a provider takes ``reasoning_effort`` is the service's ``takes_reasoning``.
    """

    max_tokens: str = "max_completion_tokens"
    usage_in_stream: bool = True
    n: bool = True


OPENAI_DIALECT = ChatDialect()
MAX_TOKENS_DIALECT = ChatDialect(max_tokens="max_tokens", usage_in_stream=False, n=False)


def decode_vector(value: Any) -> np.ndarray:
    """A float list, or a base64 string of little-endian float32 values."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value, validate=True), dtype="<f4")
    if not isinstance(value, list) or not all(isinstance(x, int | float) for x in value):
        raise ValueError("an embedding is neither a list of numbers nor a base64 string")
    return np.asarray(value, dtype=np.float32)


def stack(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of equal length as one (n, dims) float32 array; ragged rows are a malformed answer."""
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    if len({r.shape[0] for r in rows}) != 1:
        raise ValueError("embeddings of different lengths in one response")
    return np.vstack(rows).astype(np.float32, copy=False)


def embeddings_body(model: str | None, inputs: list[str], *, dimensions: int | None = None,
                    user: str | None = None, base64_encoding: bool = True) -> dict[str, Any]:
    """The body of ``POST /v1/embeddings``."""
    body: dict[str, Any] = {"input": inputs}
    if model is not None:
        body["model"] = model
    if dimensions is not None:
        body["dimensions"] = dimensions
    if user:
        body["user"] = user
    body["encoding_format"] = "base64" if base64_encoding else "float"
    return body


def parse_embeddings(response: UpstreamResponse) -> np.ndarray:
    """Vectors of an OpenAI embeddings response, ordered by ``index``."""
    data = json_body(response)["data"]
    rows = sorted(data, key=lambda item: int(item.get("index", 0)))
    return stack([decode_vector(item["embedding"]) for item in rows])


# Elasticsearch's unified request carries an assistant turn's earlier reasoning in these message fields; no
# chat-completions API takes them back (OpenAI rejects unknown message fields, DeepSeek rejects reasoning_content).
MESSAGE_REASONING_KEYS = ("reasoning", "reasoning_details")
# Where OpenAI-compatible providers stream a reasoning model's thinking: DeepSeek, Fireworks and vLLM send
# ``reasoning_content``, Groq ``reasoning``; Elasticsearch's chunk carries it as ``delta.reasoning``.
DELTA_REASONING_KEYS = ("reasoning_content", "reasoning")


def chat_messages(call: Call, prompt: str | None = None) -> list[dict[str, Any]]:
    """The messages to send: the unified request's (without earlier reasoning), or one user message for a
    ``completion`` input."""
    if call.chat and call.chat.get("messages"):
        return [{k: v for k, v in m.items() if k not in MESSAGE_REASONING_KEYS} if isinstance(m, dict) else m
                for m in call.chat["messages"]]
    return [{"role": "user", "content": prompt if prompt is not None else ""}]


def _reasoning_excluded(call: Call) -> bool:
    reasoning = (call.chat or {}).get("reasoning")
    return isinstance(reasoning, dict) and reasoning.get("exclude") is True


def unified_choices(call: Call, choices: list[Any]) -> list[Any]:
    """Provider choices as Elasticsearch's chunk carries them: streamed reasoning under ``delta.reasoning``
    (dropped when the request said ``reasoning.exclude: true``)."""
    out = []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and any(k in delta for k in DELTA_REASONING_KEYS):
            delta = dict(delta)
            text = "".join(str(delta.pop(k)) for k in DELTA_REASONING_KEYS if delta.get(k) is not None)
            delta.pop("reasoning_content", None)
            delta.pop("reasoning", None)
            if text and not _reasoning_excluded(call):
                delta["reasoning"] = text
            choice = {**choice, "delta": delta}
        out.append(choice)
    return out


def reasoning_effort(call: Call) -> str | None:
    """OpenAI's ``reasoning_effort`` for the unified request's ``reasoning`` (``enabled: true`` means ``medium``,
    as Elasticsearch documents). Services that cannot take it refuse the request before this is reached."""
    reasoning = (call.chat or {}).get("reasoning")
    if not isinstance(reasoning, dict):
        return None
    effort = reasoning.get("effort") or ("medium" if reasoning.get("enabled") else None)
    return str(effort) if effort is not None else None


def chat_body(call: Call, model: str | None, prompt: str | None = None, *, stream: bool = False,
              user: str | None = None, dialect: ChatDialect = OPENAI_DIALECT) -> dict[str, Any]:
    """The body of ``POST /v1/chat/completions`` for a completion or a unified chat request."""
    chat = call.chat or {}
    body: dict[str, Any] = {"messages": chat_messages(call, prompt)}
    chosen = chat.get("model") or model
    if chosen:
        body["model"] = chosen
    for key in CHAT_PASSTHROUGH:
        if chat.get(key) is not None:
            body[key] = chat[key]
    if chat.get("max_completion_tokens") is not None:
        body[dialect.max_tokens] = chat["max_completion_tokens"]
    effort = reasoning_effort(call)
    if effort is not None:
        body["reasoning_effort"] = effort
    if call.task_type == TaskType.COMPLETION and not stream and dialect.n:
        body["n"] = 1
    if user:
        body["user"] = user
    if stream:
        body["stream"] = True
        if dialect.usage_in_stream:
            body["stream_options"] = {"include_usage": True}
    return body


def parse_chat(response: UpstreamResponse) -> str:
    """The text of the first choice of a chat completion."""
    data = json_body(response)
    content = data["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not a string")
    return content


def completion_chunk(text: str) -> dict[str, Any]:
    """Elasticsearch's ``completion`` stream chunk."""
    return {"completion": [{"delta": text}]}


def chat_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's ``chat_completion`` stream chunk (an OpenAI chunk in a wrapper)."""
    return {"chat_completion": chunk}


def openai_stream_chunks(call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
    """Translate one OpenAI SSE event; ``[DONE]`` ends the stream; an error object fails it."""
    if data.strip() == "[DONE]":
        return None
    payload = json.loads(data)
    if "error" in payload:
        raise error_object(call, 200, provider_message(data.encode()) or "unknown error")
    if call.task_type == TaskType.CHAT_COMPLETION:
        out = {k: payload[k] for k in ("id", "choices", "model", "object", "usage") if k in payload}
        if "choices" in out:
            out["choices"] = unified_choices(call, out["choices"])
        return [chat_chunk(out)]
    texts = [c.get("delta", {}).get("content") for c in payload.get("choices", [])]
    return [completion_chunk(t) for t in texts if t]
