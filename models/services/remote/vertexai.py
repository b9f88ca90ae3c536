"""``googlevertexai``: embeddings (``:predict``), rerank (Discovery Engine ``:rank``) and Gemini completions.

Authentication: the service-account JSON is turned into an RS256-signed JWT and exchanged at its
``token_uri`` for an OAuth access token (cached). ``url`` / ``streaming_url`` are Elasticsearch's settings: the
full URL of the operation, replacing the one built from ``location``, ``project_id`` and ``model_id``.
Embeddings go ``max_batch_size`` (default 250) instances per request. The ``embedding`` task of a
``multimodalembedding`` model sends one instance per request, ``{"text"}`` or ``{"image": {"bytesBase64Encoded",
"mimeType"}}`` (the data URI split), and reads ``textEmbedding`` / ``imageEmbedding``. Model Garden ``provider``s other than
``google`` are called at ``url`` / ``streaming_url``: ``anthropic`` with the Messages API body (``rawPredict``),
the others with the OpenAI-compatible chat body.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from typing import Any, ClassVar

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ingest.models.contents import Content
from ingest.models.results import InputType, TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.services.remote.anthropic import AnthropicService, messages_body
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.googleaistudio import gemini_contents, gemini_stream_chunks, gemini_text
from ingest.models.services.remote.openai_compat import chat_body, openai_stream_chunks, parse_chat, stack
from ingest.models.services.remote.secret import fingerprint
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.tokens import TOKENS, exchange
from ingest.models.services.remote.transport import HttpCall

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ANTHROPIC_VERSION = "vertex-2023-10-16"  # the Messages API version Vertex AI expects in the body
RANK_URL = ("https://discoveryengine.googleapis.com/v1/projects/{project}/locations/global/rankingConfigs/"
            "default_ranking_config:rank")
TASK_TYPES = {InputType.INGEST: "RETRIEVAL_DOCUMENT", InputType.SEARCH: "RETRIEVAL_QUERY",
              InputType.CLASSIFICATION: "CLASSIFICATION", InputType.CLUSTERING: "CLUSTERING"}
CHAT = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
EMBED = tasks(TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING)
MULTIMODAL_MODEL = "multimodalembedding"  # multimodalembedding@001: text or image instances, one per request


def _instance(content: Content) -> dict[str, Any]:
    if content.is_text:
        return {"text": content.value}
    head, _, data = content.value.partition(",")  # data:<mime>;base64,<data>
    return {"image": {"bytesBase64Encoded": data, "mimeType": head[len("data:"):].split(";")[0]}}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_jwt(info: dict[str, Any], now: float | None = None) -> str:
    """The signed assertion of the OAuth 2.0 JWT-bearer grant for a service account."""
    now = int(time.time() if now is None else now)
    header = {"alg": "RS256", "typ": "JWT", "kid": info.get("private_key_id", "")}
    claims = {"iss": info["client_email"], "scope": SCOPE, "aud": info["token_uri"], "iat": now, "exp": now + 3600}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}".encode()
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account private_key is not an RSA key")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{_b64url(signature)}"


class VertexAiService(RemoteService):
    """Elasticsearch's ``googlevertexai`` service."""

    name = "googlevertexai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.RERANK, TaskType.COMPLETION,
                            TaskType.CHAT_COMPLETION})
    content_types = frozenset({"text", "image"})
    service_schema: ClassVar[dict[str, Setting]] = {
        "service_account_json": Setting(str, required=True, secret=True),
        "project_id": Setting(str),
        "location": Setting(str),
        "model_id": Setting(str),
        "max_batch_size": Setting(int, minimum=1, default=250, tasks=EMBED),
        "provider": Setting(str, choices=("google", "anthropic", "meta", "hugging_face", "mistral", "ai21")),
        "streaming_url": Setting(str, tasks=CHAT),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "auto_truncate": Setting(bool, tasks=EMBED),
        "top_n": Setting(int, minimum=1, tasks=tasks(TaskType.RERANK)),
        "thinking_config": Setting(dict, tasks=CHAT),
        "max_tokens": Setting(int, minimum=1, tasks=CHAT),
    }
    default_rpm = 30_000
    max_batch = 250
    sends_dimensions = True
    streaming_tasks = CHAT

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """The service account JSON must parse and carry what the JWT needs; the model URL must be derivable."""
        try:
            info = json.loads(secrets["service_account_json"])
            missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
        except (ValueError, AttributeError):
            problems.append("[service_settings] [service_account_json] is not valid JSON")
            return
        if missing:
            problems.append(f"[service_settings] [service_account_json] is missing [{', '.join(missing)}]")
        if task_type == TaskType.EMBEDDING and self.multimodal(settings) and settings.get("dimensions") not in (
                None, 128, 256, 512, 1408):
            problems.append("[dimensions] must be one of [128, 256, 512, 1408] for [multimodalembedding]")
        if settings.get("provider", "google") != "google" and task_type in CHAT and "url" not in settings:
            problems.append("[service_settings] does not contain the required setting [url]")
        elif "url" not in settings:
            needed = ["project_id"] if task_type == TaskType.RERANK else ["project_id", "location", "model_id"]
            for name in needed:
                if name not in settings:
                    problems.append(f"[service_settings] does not contain the required setting [{name}]")

    def secret_values(self, endpoint: EndpointConfig) -> list[str]:
        """The whole service-account JSON and its private key on its own."""
        raw = endpoint.secret_settings.get("service_account_json", "")
        try:
            key = json.loads(raw).get("private_key", "")
        except (ValueError, AttributeError):
            key = ""
        return [raw, key]

    def batch_size(self, call: Call) -> int:
        """``max_batch_size`` (default 250); one for the multimodal model."""
        if self._multimodal_call(call):
            return 1
        return int(call.settings.get("max_batch_size", 250))

    def multimodal(self, settings: dict[str, Any]) -> bool:
        """Only ``multimodalembedding`` models embed images."""
        return str(settings.get("model_id") or "").startswith(MULTIMODAL_MODEL)

    def takes_dimensions(self, endpoint: EndpointConfig) -> bool:
        """The multimodal model's validation call records its size (1408 unless ``dimensions`` chose another)."""
        return not (endpoint.task_type == TaskType.EMBEDDING and self.multimodal(endpoint.service_settings))

    def _multimodal_call(self, call: Call) -> bool:
        return call.task_type == TaskType.EMBEDDING and self.multimodal(call.settings)

    async def _headers(self, call: Call) -> dict[str, str]:
        raw = call.secret("service_account_json")
        info = json.loads(raw)

        async def fetch() -> tuple[str, float]:
            form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                           "assertion": service_account_jwt(info)}).encode()
            data = await exchange(call.inference_id, HttpCall(
                "POST", info["token_uri"], {"Content-Type": "application/x-www-form-urlencoded"}, content=form),
                [raw, info["private_key"]])
            return str(data["access_token"]), float(str(data.get("expires_in", 3600)))

        token = await TOKENS.get(fingerprint([raw]), fetch)
        return {"Authorization": f"Bearer {token}"}

    def _model_url(self, call: Call, method: str) -> str:
        s = call.settings
        return (f"https://{s['location']}-aiplatform.googleapis.com/v1/projects/{s['project_id']}/locations/"
                f"{s['location']}/publishers/google/models/{s['model_id']}:{method}")

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """predict / rank / generateContent."""
        headers = await self._headers(call)
        s = call.settings
        body: dict[str, Any]
        if self._multimodal_call(call):
            groups = call.contents or [(Content("text", "text", t),) for t in inputs]
            body = {"instances": [_instance(g[0]) for g in groups]}  # one item per input: check_support refused more
            if s.get("dimensions"):
                body["parameters"] = {"dimension": s["dimensions"]}
            return HttpCall("POST", s.get("url") or self._model_url(call, "predict"), headers, body)
        if call.task_type in EMBED:
            instance_type = TASK_TYPES.get(call.input_type) if call.input_type else None
            instances = [{"content": t, **({"task_type": instance_type} if instance_type else {})} for t in inputs]
            parameters: dict[str, Any] = {}
            if call.task_settings.get("auto_truncate") is not None:
                parameters["autoTruncate"] = call.task_settings["auto_truncate"]
            if s.get("dimensions"):
                parameters["outputDimensionality"] = s["dimensions"]
            body = {"instances": instances, **({"parameters": parameters} if parameters else {})}
            return HttpCall("POST", s.get("url") or self._model_url(call, "predict"), headers, body)
        if call.task_type == TaskType.RERANK:
            body = {"query": call.query, "records": [{"id": str(i), "content": t} for i, t in enumerate(inputs)]}
            if s.get("model_id"):
                body["model"] = s["model_id"]
            top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
            if top_n is not None:
                body["topN"] = top_n
            return HttpCall("POST", s.get("url") or RANK_URL.format(project=s["project_id"]), headers, body)
        provider = s.get("provider") or "google"
        if provider == "anthropic":
            return HttpCall("POST", s["url"], headers, self._anthropic(call, inputs[0], stream=False))
        if provider != "google":
            return HttpCall("POST", s["url"], headers, chat_body(call, s.get("model_id"), inputs[0]))
        return HttpCall("POST", s.get("url") or self._model_url(call, "generateContent"), headers,
                        self._gemini(call, inputs[0]))

    def _anthropic(self, call: Call, prompt: str | None, stream: bool) -> dict[str, Any]:
        body = messages_body(call, prompt, stream, default_max_tokens=1024)
        body.pop("model", None)  # the model is in the URL
        body["anthropic_version"] = ANTHROPIC_VERSION
        return body

    def _gemini(self, call: Call, prompt: str | None) -> dict[str, Any]:
        body = gemini_contents(call, prompt)
        if call.task_settings.get("max_tokens"):
            body["generationConfig"]["maxOutputTokens"] = call.task_settings["max_tokens"]
        thinking = call.task_settings.get("thinking_config")
        if thinking:
            body["generationConfig"]["thinkingConfig"] = {"thinkingBudget": thinking.get("thinking_budget")}
        return body

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``predictions[].embeddings.values``, ``records[].score`` or the Gemini text."""
        data = json_body(response)
        if self._multimodal_call(call):
            return stack([np.asarray(p.get("textEmbedding") or p["imageEmbedding"], dtype=np.float32)
                          for p in data["predictions"]])
        if call.task_type in EMBED:
            return stack([np.asarray(p["embeddings"]["values"], dtype=np.float32) for p in data["predictions"]])
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(r["id"]), float(r["score"])) for r in data.get("records", [])], inputs)
        provider = call.settings.get("provider") or "google"
        if provider == "anthropic":
            return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
        if provider != "google":
            return parse_chat(response)
        return gemini_text(data)

    async def build_stream(self, call: Call) -> HttpCall:
        """streamGenerateContent as server-sent events."""
        s = call.settings
        provider = s.get("provider") or "google"
        if provider == "anthropic":
            return HttpCall("POST", s.get("streaming_url") or s["url"], await self._headers(call),
                            self._anthropic(call, None, stream=True))
        if provider != "google":
            return HttpCall("POST", s.get("streaming_url") or s["url"], await self._headers(call),
                            chat_body(call, s.get("model_id"), stream=True))
        url = s.get("streaming_url") or s.get("url") or self._model_url(call, "streamGenerateContent")
        return HttpCall("POST", url, await self._headers(call), self._gemini(call, None), params={"alt": "sse"})

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """Gemini, Anthropic or OpenAI-style chunks → Elasticsearch chunks."""
        provider = call.settings.get("provider") or "google"
        if provider == "anthropic":
            return AnthropicService().stream_chunks(call, event, data)
        if provider != "google":
            return openai_stream_chunks(call, event, data)
        return gemini_stream_chunks(call, data)
