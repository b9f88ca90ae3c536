"""``GET _inference/_services``: each service's task types and configuration schema in Elasticsearch's shape.

The schema is generated from the same :class:`~ingest.models.services.remote.settings.Setting` tables that validate a
PUT, so what Kibana is told and what the server accepts cannot drift apart. One service renders as
``{service, name, task_types, configurations: {key: {default_value?, description?, label, required, sensitive,
updatable, type?, supported_task_types}}}`` (Elasticsearch's ``InferenceServiceConfiguration`` /
``SettingsConfiguration``); ``type`` is one of ``str``, ``int``, ``bool``, ``list``, ``map`` and is left out for
numbers with a fraction, which Elasticsearch's field types cannot name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingest.models.results import TaskType
from ingest.models.services.remote.settings import Setting

TYPES = {str: "str", int: "int", bool: "bool", list: "list", dict: "map"}
ACRONYMS = {"api": "API", "id": "ID", "url": "URL", "aws": "AWS", "iam": "IAM", "uri": "URI", "arn": "ARN"}
TASK_ORDER = [TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING, TaskType.RERANK, TaskType.COMPLETION,
              TaskType.CHAT_COMPLETION, TaskType.EMBEDDING]

# Descriptions of settings many services share (Elasticsearch's wording where it has one).
DESCRIPTIONS = {
    "api_key": "API Key for the provider you're connecting to.",
    "model_id": "The name of the model to use for the inference task.",
    "model": "The name of the model to use for the inference task.",
    "url": "The URL endpoint to use for the requests.",
    "dimensions": "The number of dimensions the resulting embeddings should have.",
    "similarity": "The similarity measure used for the embeddings: cosine, dot_product or l2_norm.",
    "max_input_tokens": "Allows you to specify the maximum number of tokens per input.",
    "rate_limit.requests_per_minute": "Minimize the number of rate limit errors.",
    "access_key": "A valid AWS access key that has permissions to use the provider.",
    "secret_key": "A valid AWS secret key that is paired with the access_key.",
    "region": "The region that your model or endpoint is deployed in.",
    "embedding_type": "The data type of the embeddings the model returns.",
}
# Display names of the services whose classes do not carry one (Elasticsearch's names).
DISPLAY_NAMES = {
    "openai": "OpenAI", "azureopenai": "Azure OpenAI", "cohere": "Cohere", "mistral": "Mistral",
    "googleaistudio": "Google AI Studio", "anthropic": "Anthropic", "hugging_face": "Hugging Face",
    "jinaai": "Jina AI", "voyageai": "Voyage AI", "custom": "Custom", "googlevertexai": "Google Vertex AI",
    "watsonxai": "IBM watsonx", "amazonbedrock": "Amazon Bedrock", "azureaistudio": "Azure AI Studio",
    "alibabacloud-ai-search": "AlibabaCloud AI Search", "amazon_sagemaker": "Amazon SageMaker",
    "elasticsearch": "Elasticsearch", "elser": "Elser",
}


def label(name: str) -> str:
    """``max_input_tokens`` → ``Max Input Tokens``, ``api_key`` → ``API Key``."""
    return " ".join(ACRONYMS.get(w, w.capitalize()) for w in name.replace(".", "_").split("_"))


def ordered(task_types: Iterable[TaskType]) -> list[str]:
    """Task types in Elasticsearch's enum order."""
    given = set(task_types)
    return [str(t) for t in TASK_ORDER if t in given]


def field_configuration(key: str, setting: Setting, task_types: frozenset[TaskType], updatable: bool) -> dict[str, Any]:
    """One ``SettingsConfiguration``."""
    out: dict[str, Any] = {}
    if setting.default is not None:
        out["default_value"] = setting.default
    description = setting.description or DESCRIPTIONS.get(key)
    if description:
        out["description"] = description
    out.update({"label": setting.label or label(key), "required": setting.required, "sensitive": setting.secret,
                "updatable": updatable})
    if setting.kind in TYPES:
        out["type"] = TYPES[setting.kind]
    applies = task_types if setting.tasks is None else task_types & setting.tasks
    out["supported_task_types"] = ordered(applies)
    return out


def service_configuration(service: str, name: str, task_types: frozenset[TaskType], schema: dict[str, Setting],
                          updatable: frozenset[str], rate_limit: int | dict[TaskType, int] | None = None,
                          ) -> dict[str, Any]:
    """One ``InferenceServiceConfiguration``: secrets and the keys in ``updatable`` are marked updatable (what
    ``_update`` accepts); ``rate_limit`` (the default requests per minute) adds ``rate_limit.requests_per_minute``."""
    configurations: dict[str, Any] = {}
    for key, setting in sorted(schema.items()):
        if setting.tasks is not None and not (setting.tasks & task_types):
            continue
        configurations[key] = field_configuration(key, setting, task_types, setting.secret or key in updatable)
    if rate_limit is not None:
        setting = Setting(int, default=rate_limit, label="Rate Limit")
        if isinstance(rate_limit, dict):  # the default depends on the task type: say so instead of one number
            defaults = ", ".join(f"{task} {rate_limit[TaskType(task)]}" for task in ordered(rate_limit))
            setting = Setting(int, label="Rate Limit", description=f"{DESCRIPTIONS['rate_limit.requests_per_minute']} "
                                                                   f"Default requests per minute: {defaults}.")
        configurations["rate_limit.requests_per_minute"] = field_configuration(
            "rate_limit.requests_per_minute", setting, task_types, "rate_limit" in updatable)
    return {"service": service, "name": DISPLAY_NAMES.get(service, name), "task_types": ordered(task_types),
            "configurations": configurations}
