"""Fakes for the cloud providers with their own authentication: Vertex AI (service-account JWT → OAuth token),
watsonx.ai (IAM API-key exchange), Amazon Bedrock (SigV4), plus Azure AI Studio and AlibabaCloud AI Search."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ingest.models.services.remote.sigv4 import sign
from tests.fakes.cohere import score
from tests.fakes.google import gemini_reply, google_error
from tests.fakes.openai import FakeOpenAI
from tests.fakes.others import FakeAnthropic
from tests.fakes.server import Recorded, Reject, Reply, bearer_key, deterministic_vector, sse


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeVertex:
    """OAuth token endpoint (``/token``) that verifies the RS256 JWT, and the Vertex / Discovery Engine APIs."""

    client_email: str = "svc@project.iam.gserviceaccount.com"
    dims: int = 4
    token_requests: int = 0
    issued: set[str] = field(default_factory=set)
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                     key_size=2048))

    def service_account_json(self, base_url: str) -> str:
        """A service account whose ``token_uri`` points at this fake."""
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        return json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
                           "client_email": self.client_email, "token_uri": base_url + "/token"})

    def token(self, request: Recorded, base_url: str) -> Reply:
        form = parse_qs(request.body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            raise Reject(400, {"error": "unsupported_grant_type"})
        header, claims, signature = form["assertion"][0].split(".")
        try:
            self.key.public_key().verify(_unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                                         hashes.SHA256())
        except Exception:
            raise Reject(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}) from None
        body = json.loads(_unb64(claims))
        now = time.time()
        if (body["iss"] != self.client_email or body["aud"] != base_url + "/token" or not body["iat"] <= now + 5
                or body["exp"] <= now or "cloud-platform" not in body["scope"]):
            raise Reject(400, {"error": "invalid_grant", "error_description": "Invalid JWT claims."})
        self.token_requests += 1
        token = f"ya29.fake-{self.token_requests}"
        self.issued.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def multimodal(self, body: dict[str, Any]) -> Reply:
        """``multimodalembedding@001:predict``: one instance of ``text`` and/or ``image`` (``bytesBase64Encoded``
        — bare base64, not a data URI — or ``gcsUri``, with an optional ``mimeType``); ``parameters.dimension``
        one of 128, 256, 512, 1408; each part answers its own ``textEmbedding`` / ``imageEmbedding``."""
        instances = body.get("instances")
        if set(body) - {"instances", "parameters"} or not isinstance(instances, list) or len(instances) != 1:
            raise google_error(400, "Multimodal embedding takes exactly one instance")
        instance = instances[0]
        image = instance.get("image") if isinstance(instance, dict) else None
        if not isinstance(instance, dict) or not instance or set(instance) - {"text", "image", "video"} or (
                "text" in instance and not isinstance(instance["text"], str)):
            raise google_error(400, "an instance holds text, image or video")
        if image is not None and not (isinstance(image, dict) and set(image) - {"mimeType"} in (
                {"bytesBase64Encoded"}, {"gcsUri"}) and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}",
                                                                   str(image.get("bytesBase64Encoded", "gs")))):
            raise google_error(400, "image takes bytesBase64Encoded (base64, no data URI prefix) or gcsUri")
        dims = body.get("parameters", {}).get("dimension", self.dims)  # the real default is 1408; small in tests
        if set(body.get("parameters", {})) - {"dimension"} or dims not in (128, 256, 512, 1408, self.dims):
            raise google_error(400, "dimension must be 128, 256, 512 or 1408")
        prediction: dict[str, Any] = {}
        if "text" in instance:
            prediction["textEmbedding"] = deterministic_vector(instance["text"], dims)
        if image is not None:
            prediction["imageEmbedding"] = deterministic_vector(f"image:{image.get('bytesBase64Encoded')}", dims)
        return Reply(200, {"predictions": [prediction], "deployedModelId": "1"})

    def handler(self, base_url: str):
        def handle(request: Recorded) -> Reply:
            if request.path == "/token":
                return self.token(request, base_url)
            if bearer_key(request) not in self.issued:
                raise google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
            body = request.json()
            if request.path.endswith(":predict") and "/models/multimodalembedding" in request.path:
                return self.multimodal(body)
            if request.path.endswith(":predict"):
                instances = body.get("instances")
                if not isinstance(instances, list) or not instances or len(instances) > 250:
                    raise google_error(400, "instances must hold 1 to 250 items")
                dims = body.get("parameters", {}).get("outputDimensionality", self.dims)
                return Reply(200, {"predictions": [
                    {"embeddings": {"values": deterministic_vector(i["content"], dims),
                                    "statistics": {"token_count": 1, "truncated": False}}} for i in instances]})
            if request.path.endswith(":rank"):
                records = sorted(({"id": r["id"], "score": score(body["query"], r["content"])}
                                  for r in body["records"]), key=lambda r: -r["score"])
                return Reply(200, {"records": records[: body.get("topN") or len(records)]})
            if request.path.endswith((":rawPredict", ":streamRawPredict")):  # Anthropic in the Model Garden
                if body.pop("anthropic_version", None) != "vertex-2023-10-16" or "model" in body:
                    raise google_error(400, "anthropic_version must be vertex-2023-10-16; the model is in the URL")
                body["model"] = request.path.rsplit("/", 1)[-1].split(":")[0]
                body["stream"] = request.path.endswith(":streamRawPredict")
                as_anthropic = Recorded("POST", "/v1/messages", {}, {"x-api-key": "vertex",
                                                                     "anthropic-version": "2023-06-01"},
                                        json.dumps(body).encode())
                return FakeAnthropic("vertex")(as_anthropic)
            if request.path.endswith("/chat/completions"):  # OpenAI-compatible Model Garden endpoints
                return FakeOpenAI("x").chat(body)
            if request.path.endswith(":generateContent"):
                return gemini_reply(body, stream=False)
            if request.path.endswith(":streamGenerateContent"):
                return gemini_reply(body, stream=True)
            raise google_error(404, "not found", "NOT_FOUND")
        return handle


@dataclass
class FakeWatsonx:
    """IAM at ``/identity/token`` and watsonx.ai at ``/ml/v1/text/*?version=``."""

    api_key: str
    token_requests: int = 0
    issued: set[str] = field(default_factory=set)

    def __call__(self, request: Recorded) -> Reply:
        if request.path == "/identity/token":
            form = parse_qs(request.body.decode())
            if form.get("grant_type") != ["urn:ibm:params:oauth:grant-type:apikey"]:
                raise Reject(400, {"errorCode": "BXNIM0109E", "errorMessage": "Property missing or empty."})
            if form.get("apikey") != [self.api_key]:
                raise Reject(400, {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."})
            self.token_requests += 1
            token = f"iam-{self.token_requests}"
            self.issued.add(token)
            return Reply(200, {"access_token": token, "refresh_token": "not_supported", "token_type": "Bearer",
                               "expires_in": 3600, "expiration": int(time.time()) + 3600})
        if bearer_key(request) not in self.issued:
            raise Reject(401, {"errors": [{"code": "authentication_token_not_valid", "message": "Failed to authenticate"}],
                               "status_code": 401})
        if not request.query.get("version"):
            raise Reject(400, {"errors": [{"code": "missing_version", "message": "version is required"}]})
        body = request.json()
        if not body.get("project_id") or not body.get("model_id"):
            raise Reject(400, {"errors": [{"code": "json_validation_error", "message": "project_id is required"}]})
        operation = request.path.removeprefix("/ml/v1/text/")
        if operation == "embeddings":
            return Reply(200, {"model_id": body["model_id"], "input_token_count": 1,
                               "results": [{"embedding": deterministic_vector(t, 3)} for t in body["inputs"]]})
        if operation == "rerank":
            hits = sorted(({"index": i, "score": score(body["query"], d["text"])} for i, d in enumerate(body["inputs"])),
                          key=lambda h: -h["score"])
            return Reply(200, {"model_id": body["model_id"], "results": hits})
        if operation == "generation":
            return Reply(200, {"model_id": body["model_id"], "results": [{"generated_text": "watsonx says hi",
                                                                          "stop_reason": "eos_token"}]})
        if operation == "generation_stream":
            events = [{"model_id": body["model_id"], "results": [{"generated_text": w}]} for w in ["wx", " streams"]]
            return Reply(200, chunks=sse(events, done=False))
        if operation == "chat_stream":
            return FakeOpenAI("x", require_model=False).chat({**{k: v for k, v in body.items()
                                                                 if k not in ("project_id", "model_id")},
                                                              "model": body["model_id"], "stream": True})
        raise Reject(404, {"errors": [{"code": "not_found", "message": "not found"}]})


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (string headers only), with both CRCs."""
    raw = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
                   for k, v in headers.items())
    total = 12 + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw + payload
    return body + struct.pack(">I", zlib.crc32(body))


def converse_stream(words: list[str]) -> list[bytes]:
    """ConverseStream's events for a text answer."""
    def event(kind: str, payload: dict[str, Any]) -> bytes:
        return event_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                             json.dumps(payload).encode())
    frames = [event("messageStart", {"role": "assistant"})]
    frames += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in words]
    frames += [event("contentBlockStop", {"contentBlockIndex": 0}), event("messageStop", {"stopReason": "end_turn"}),
               event("metadata", {"usage": {"inputTokens": 2, "outputTokens": len(words), "totalTokens": 2 + len(words)},
                                  "metrics": {"latencyMs": 5}})]
    return frames


@dataclass
class FakeBedrock:
    """Bedrock Runtime: recomputes the SigV4 signature of each request and rejects mismatches."""

    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def check_signature(self, request: Recorded, url: str) -> None:
        auth = request.headers.get("authorization", "")
        match = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/bedrock/aws4_request, "
                             r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)
        if not match or match.group(1) != self.access_key or match.group(3) != self.region:
            raise Reject(403, {"message": "The security token included in the request is invalid."})
        names = match.group(4).split(";")
        headers = {n: request.headers[n] for n in names if n not in ("host", "x-amz-date", "x-amz-content-sha256")}
        now = dt.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expected = sign("POST", url, headers, request.body, access_key=self.access_key, secret_key=self.secret_key,
                        region=self.region, service="bedrock", now=now)
        if expected["Authorization"] != auth:
            raise Reject(403, {"message": "The request signature we calculated does not match the signature you "
                                          "provided."})

    def handler(self, base_url: str):
        def handle(request: Recorded) -> Reply:
            self.check_signature(request, base_url + request.path)
            body = request.json()
            match = re.fullmatch(r"/model/([^/]+)/(invoke|converse|converse-stream)", request.path)
            if not match:
                raise Reject(404, {"message": "not found"})
            _model, operation = match.groups()
            if operation == "invoke" and "inputText" in body:
                extra = sorted(set(body) - ({"inputText"} if "titan-embed-text-v1" in unquote(_model) else
                                            {"inputText", "dimensions", "normalize", "embeddingTypes"}))
                if extra:  # Bedrock validates the model's JSON schema
                    raise Reject(400, {"message": f"Malformed input request: #: extraneous key [{extra[0]}] is not "
                                                  "permitted, please reformat your input and try again."})
                return Reply(200, {"embedding": deterministic_vector(body["inputText"], 3), "inputTextTokenCount": 1})
            if operation == "invoke":
                if not isinstance(body.get("texts"), list) or len(body["texts"]) > 96 or "input_type" not in body:
                    raise Reject(400, {"message": "Malformed input request"})
                return Reply(200, {"id": "1", "response_type": "embeddings_floats", "texts": body["texts"],
                                   "embeddings": [deterministic_vector(t, 3) for t in body["texts"]]})
            messages = body.get("messages")
            if not messages or not all(isinstance(m.get("content"), list) for m in messages):
                raise Reject(400, {"message": "A conversation must start with a user message."})
            if operation == "converse-stream":
                # a frame boundary that falls inside a message: the client must reassemble
                data = b"".join(converse_stream(["Bedrock", " streams"]))
                return Reply(200, chunks=[data[:20], data[20:77], data[77:]],
                             headers={"Content-Type": "application/vnd.amazon.eventstream"})
            return Reply(200, {"output": {"message": {"role": "assistant", "content": [{"text": "Bedrock answers"}]}},
                               "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}})
        return handle


@dataclass
class FakeAzureAiStudio:
    """Deployed models at ``/embeddings`` (OpenAI token), ``/score`` (realtime), ``/rerank`` (Cohere)."""

    api_key: str

    def __call__(self, request: Recorded) -> Reply:
        body = request.json()
        if request.path == "/embeddings":
            if request.headers.get("api-key") != self.api_key:
                raise Reject(401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key."}})
            return FakeOpenAI(self.api_key, require_model=False).embeddings(body)
        if bearer_key(request) != self.api_key:
            raise Reject(401, {"error": {"code": "401", "message": "invalid key"}})
        if request.path == "/score":
            data = body["input_data"]
            return Reply(200, {"output": f"realtime: {data['input_string'][0]['content']}"})
        if request.path == "/rerank":
            hits = sorted(({"index": i, "relevance_score": score(body["query"], d)}
                           for i, d in enumerate(body["documents"])), key=lambda h: -h["relevance_score"])
            return Reply(200, {"results": hits})
        raise Reject(404, {"error": {"message": "not found"}})


@dataclass
class FakeAlibaba:
    """AI Search OpenAPI at ``/v3/openapi/workspaces/{w}/{operation}/{service_id}``."""

    api_key: str

    def __call__(self, request: Recorded) -> Reply:
        if bearer_key(request) != self.api_key:
            raise Reject(401, {"request_id": "1", "code": "InvalidApiKey", "message": "Invalid api key"})
        match = re.fullmatch(r"/v3/openapi/workspaces/([^/]+)/([a-z\-]+)/([^/]+)", request.path)
        if not match:
            raise Reject(404, {"code": "NotFound", "message": "not found"})
        operation, body = match.group(2), request.json()
        result: dict[str, Any]
        if operation == "text-embedding":
            result = {"embeddings": [{"index": i, "embedding": deterministic_vector(t, 3)}
                                     for i, t in enumerate(body["input"])][::-1]}
        elif operation == "text-sparse-embedding":
            result = {"sparse_embeddings": [{"index": i, "embedding": [
                {"token_id": 100 + len(t), "weight": 0.5, **({"token": t} if body.get("return_token") else {})}]}
                for i, t in enumerate(body["input"])]}
        elif operation == "ranker":
            result = {"scores": [{"index": i, "score": score(body["query"], d)} for i, d in enumerate(body["docs"])]}
        else:
            result = {"text": "alibaba answers"}
        return Reply(200, {"request_id": "1", "latency": 3, "usage": {"token_count": 1}, "result": result})


@dataclass
class FakeSageMaker:
    """SageMaker Runtime: checks the SigV4 signature (service ``sagemaker``), the InvokeEndpoint path and
    ``X-Amzn-SageMaker-*`` headers, and answers as a container speaking ``api`` (``openai`` or ``elastic``)."""

    access_key: str
    secret_key: str
    api: str = "openai"
    region: str = "us-east-1"
    dims: int = 4
    element_type: str = "float"
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def check_signature(self, request: Recorded, url: str) -> None:
        auth = request.headers.get("authorization", "")
        match = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sagemaker/aws4_request, "
                             r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)
        if not match or match.group(1) != self.access_key or match.group(3) != self.region:
            raise Reject(403, {"message": "The security token included in the request is invalid."})
        names = match.group(4).split(";")
        headers = {n: request.headers[n] for n in names if n not in ("host", "x-amz-date", "x-amz-content-sha256")}
        now = dt.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expected = sign("POST", url, headers, request.body, access_key=self.access_key, secret_key=self.secret_key,
                        region=self.region, service="sagemaker", now=now)
        if expected["Authorization"] != auth:
            raise Reject(403, {"message": "The request signature we calculated does not match the signature you "
                                          "provided."})

    def handler(self, base_url: str):
        def handle(request: Recorded) -> Reply:
            self.check_signature(request, base_url + request.path)
            match = re.fullmatch(r"/endpoints/([^/]+)/(invocations|invocations-response-stream)", request.path)
            if not match:
                raise Reject(404, {"message": "not found"})
            self.seen_headers.append({k: v for k, v in request.headers.items() if k.startswith("x-amzn-sagemaker-")})
            body = request.json()
            stream = match.group(2) == "invocations-response-stream"
            return self.elastic(body, stream) if self.api == "elastic" else self.openai(body, stream)
        return handle

    def openai(self, body: dict[str, Any], stream: bool) -> Reply:
        if "input" in body:  # a text-generation-inference / vLLM style OpenAI embeddings route
            if set(body) - {"input", "dimensions", "user", "model"}:
                raise Reject(400, {"message": "Received client error (400) from primary: unknown field"})
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return Reply(200, {"object": "list", "data": [{"index": i, "embedding": deterministic_vector(t, self.dims)}
                                                          for i, t in enumerate(texts)]})
        if not body.get("messages"):
            raise Reject(400, {"message": "messages is required"})
        if not stream:
            return Reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": "SageMaker says"}}]})
        chunks = [{"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": w}}]}
                  for w in ["Sage", "Maker ", "ünïcode"]]
        sse_bytes = b"".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
        # PayloadPart boundaries fall inside SSE events and inside a UTF-8 character: the client must reassemble
        cuts = [7, 40, sse_bytes.index("ü".encode()) + 1, len(sse_bytes) - 3]
        parts = [sse_bytes[a:b] for a, b in zip([0, *cuts], [*cuts, len(sse_bytes)], strict=True)]
        return self._event_stream(parts)

    def _event_stream(self, parts: list[bytes]) -> Reply:
        frames = b"".join(event_message({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                                         ":message-type": "event"}, p) for p in parts)
        return Reply(200, chunks=[frames[:30], frames[30:]],
                     headers={"Content-Type": "application/vnd.amazon.eventstream"})

    def elastic(self, body: dict[str, Any], stream: bool) -> Reply:
        unknown = set(body) - {"input", "input_type", "query", "return_documents", "top_n", "task_settings"}
        if unknown or "input" not in body:
            raise Reject(400, {"message": f"Received client error (400) from primary: bad body {sorted(unknown)}"})
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if stream:
            return self._event_stream([json.dumps({"completion": [{"delta": w}]}).encode() for w in ["Elastic", " parts"]])
        if "query" in body:
            hits = sorted(range(len(texts)), key=lambda i: -len(texts[i]))[: body.get("top_n") or len(texts)]
            return Reply(200, {"rerank": [{"index": i, "relevance_score": float(len(texts[i])),
                                           **({"text": texts[i]} if body.get("return_documents") else {})} for i in hits]})
        kind = body.get("task_settings", {}).get("kind", "embedding")
        if kind == "sparse":
            return Reply(200, {"sparse_embedding": [{"is_truncated": False, "embedding": {t: 1.0}} for t in texts]})
        if kind == "completion":
            return Reply(200, {"completion": [{"result": f"echo {texts[0]}"}]})
        key = {"float": "text_embedding", "byte": "text_embedding_bytes", "bit": "text_embedding_bits"}[self.element_type]
        rows = [deterministic_vector(t, self.dims) for t in texts]
        if self.element_type != "float":
            rows = [[round(x * 127) for x in r] for r in rows]
        return Reply(200, {key: [{"embedding": r} for r in rows]})
