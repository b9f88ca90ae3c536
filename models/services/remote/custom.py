"""``custom``: Elasticsearch's templated HTTP service (``url``, ``headers``, ``query_parameters``, ``request``,
``response.json_parser``, ``secret_parameters``, ``input_type`` translation, ``batch_size``).

Templates ``${name}`` are filled from the secret parameters, ``task_settings.parameters`` and the per-call
values ``${input}``, ``${input_type}``, ``${query}``, ``${top_n}``, ``${return_documents}``. In the request body
values are written as JSON (``${input}`` becomes a JSON array); in the URL, headers and query parameters they
are written as plain text. A placeholder left unfilled is an error, as in Elasticsearch.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import quote

import numpy as np

from ingest.models.errors import StatusException, ValidationException
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import ELEMENT_TYPES, TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.jsonpath import compile_path, extract
from ingest.models.services.remote.openai_compat import stack
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting
from ingest.models.services.remote.transport import HttpCall

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")
PARSER_KEYS: dict[TaskType, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (required, optional)
    TaskType.TEXT_EMBEDDING: (("text_embeddings",), ("embedding_type",)),
    TaskType.SPARSE_EMBEDDING: (("token_path", "weight_path"), ()),
    TaskType.RERANK: (("relevance_score",), ("reranked_index", "document_text")),
    TaskType.COMPLETION: (("completion_result",), ()),
}


def fill(template: str, values: dict[str, Any], field: str, *, as_json: bool) -> str:
    """Replace every ``${name}``; values are JSON-encoded in bodies and plain elsewhere."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise StatusException(
                f"Found placeholder [${{{name}}}] in field [{field}] after replacement call, please check that all "
                "templates have a corresponding field definition.")
        value = values[name]
        if as_json:
            return json.dumps(value)
        return value if isinstance(value, str) else json.dumps(value)
    return _PLACEHOLDER.sub(one, template)


class CustomService(RemoteService):
    """Elasticsearch's ``custom`` service."""

    name = "custom"
    task_types = frozenset(PARSER_KEYS)
    service_schema: ClassVar[dict[str, Setting]] = {
        "url": Setting(str, required=True),
        "headers": Setting(dict),
        "query_parameters": Setting(list),
        "request": Setting(str, required=True),
        "response": Setting(dict, required=True),
        "input_type": Setting(dict),
        "batch_size": Setting(int, minimum=1, default=10),
        "secret_parameters": Setting(dict, required=True, secret=True),
        "max_input_tokens": Setting(int, minimum=1),
    }
    task_schema: ClassVar[dict[str, Setting]] = {"parameters": Setting(dict)}
    default_rpm = 10_000
    model_setting = "url"

    def parse_config(self, inference_id: str, task_type: TaskType, service_settings: JsonInput,
                     task_settings: JsonInput, chunking_settings: JsonObject | None) -> EndpointConfig:
        """As the base class; each secret parameter becomes its own secret, and the parser/templates are checked."""
        settings: dict[str, Any] = dict(service_settings or {})
        if isinstance(settings.get("secret_parameters"), str):  # as stored: the map as JSON
            try:
                settings["secret_parameters"] = json.loads(settings["secret_parameters"])
            except ValueError:
                raise ValidationException(["[secret_parameters] must be an object"]) from None
        config = super().parse_config(inference_id, task_type, settings, task_settings, chunking_settings)
        raw: Any = config.secret_settings["secret_parameters"]
        config.secret_settings["secret_parameters"] = json.dumps(
            {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()})
        problems = self._problems(task_type, config.service_settings)
        if problems:
            raise ValidationException(problems)
        return config

    def _problems(self, task_type: TaskType, settings: dict[str, Any]) -> list[str]:
        problems = []
        parser = settings["response"].get("json_parser")
        if not isinstance(parser, dict):
            return ["[service_settings.response] does not contain the required setting [json_parser]"]
        required, optional = PARSER_KEYS[task_type]
        for key in required:
            if key not in parser:
                problems.append(f"[service_settings.response.json_parser] does not contain the required setting [{key}]")
        for key in set(parser) - set(required) - set(optional):
            problems.append(f"[service_settings.response.json_parser] contains unknown setting [{key}]")
        if parser.get("embedding_type", "float") not in ELEMENT_TYPES:
            problems.append("[service_settings.response.json_parser] Invalid value [{}]. [embedding_type] must be one "
                            "of [{}]".format(parser["embedding_type"], ", ".join(ELEMENT_TYPES)))
        for key in set(parser) & (set(required) | set(optional)) - {"embedding_type"}:
            try:
                compile_path(str(parser[key]))
            except ValueError as exc:
                problems.append(str(exc))
        for pair in settings.get("query_parameters") or []:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                problems.append("[service_settings.query_parameters] must be a list of [key, value] string pairs")
                break
        return problems

    def secret_values(self, endpoint: EndpointConfig) -> list[str]:
        """Each secret parameter (they are stored together as one JSON map)."""
        raw = endpoint.secret_settings.get("secret_parameters", "{}")
        return [raw, *json.loads(raw).values()]

    def element_type(self, settings: dict[str, Any]) -> str:
        """``json_parser.embedding_type`` (float, byte or bit), as Elasticsearch's custom service reads it."""
        parser = (settings.get("response") or {}).get("json_parser") or {}
        return str(parser.get("embedding_type", "float")).lower()

    def batch_size(self, call: Call) -> int:
        """``batch_size`` (Elasticsearch's default 10)."""
        return int(call.settings.get("batch_size", 10))

    def _values(self, call: Call, inputs: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = dict(json.loads(call.secret("secret_parameters")))
        values.update(call.task_settings.get("parameters") or {})
        values["input"] = inputs
        translation = call.settings.get("input_type") or {}
        if call.input_type is not None:
            values["input_type"] = (translation.get("translation") or {}).get(
                str(call.input_type), translation.get("default", ""))
        elif "default" in translation:
            values["input_type"] = translation["default"]
        if call.query is not None:
            values["query"] = call.query
        if call.top_n is not None:
            values["top_n"] = call.top_n
        if call.return_documents is not None:
            values["return_documents"] = call.return_documents
        return values

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """The templated request."""
        values = self._values(call, inputs)
        url = fill(call.settings["url"], values, "url", as_json=False)
        params = [(k, fill(v, values, "query_parameters", as_json=False))
                  for k, v in call.settings.get("query_parameters") or []]
        if params:
            url += ("&" if "?" in url else "?") + "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
        headers = {str(k): fill(str(v), values, "headers", as_json=False)
                   for k, v in (call.settings.get("headers") or {}).items()}
        body = fill(call.settings["request"], values, "request", as_json=True).encode()
        headers.setdefault("Content-Type", "application/json")
        return HttpCall("POST", url, headers, content=body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Apply the json_parser paths."""
        data = json_body(response)
        parser = call.settings["response"]["json_parser"]
        if call.task_type == TaskType.TEXT_EMBEDDING:
            rows = extract(data, parser["text_embeddings"])
            return stack([np.asarray(r, dtype=np.float32) for r in rows])
        if call.task_type == TaskType.SPARSE_EMBEDDING:
            tokens, weights = extract(data, parser["token_path"]), extract(data, parser["weight_path"])
            return [{str(t): float(w) for t, w in zip(ts, ws, strict=True)} for ts, ws in zip(tokens, weights, strict=True)]
        if call.task_type == TaskType.RERANK:
            scores = extract(data, parser["relevance_score"])
            index = extract(data, parser["reranked_index"]) if "reranked_index" in parser else range(len(scores))
            return ranked(call, [(int(i), float(s)) for i, s in zip(index, scores, strict=True)], inputs)
        result = extract(data, parser["completion_result"])
        return result[0] if isinstance(result, list) else str(result)
