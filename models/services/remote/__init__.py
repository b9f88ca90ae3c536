"""Remote inference services: every provider Elasticsearch supports, behind :class:`InferenceService`.

``REMOTE_SERVICES`` maps each ``service`` name to its class (the endpoint registry looks services up there).

Where each concern lives: ``transport`` (event-loop thread, pooled httpx client, retries, deadlines),
``ratelimit`` (one no-burst token bucket per service + credentials + model, bounded queue), ``errors``
(Elasticsearch's upstream error messages and statuses), ``batching`` (count/token caps), ``service`` (the base
class: settings, batching, validation call, streaming), ``secret`` (redacting secrets), one module per provider.

``url`` override, for proxies, gateways and tests (each module's docstring says the same):

* Elasticsearch's own meaning: ``openai`` (the operation's full URL, default ``https://api.openai.com/v1/...``),
  ``hugging_face`` and ``custom`` (the full URL, required), ``watsonxai`` (the base URL, required; plus our
  ``iam_url`` for the IAM token endpoint), ``googlevertexai`` (``url`` / ``streaming_url``: the full URL of the
  operation; the OAuth token URL is the service account's ``token_uri``).
* Our addition, replacing the provider's scheme and host (the documented path is appended): ``cohere``,
  ``mistral``, ``googleaistudio``, ``anthropic``, ``jinaai``, ``voyageai``, ``azureopenai``
  (``https://{resource_name}.openai.azure.com``), ``amazonbedrock`` (``https://bedrock-runtime.{region}...``),
  ``alibabacloud-ai-search`` (``https://{host}``), ``amazon_sagemaker``
  (``https://runtime.sagemaker.{region}.amazonaws.com``); for ``azureaistudio`` it replaces ``target``.
* The OpenAI-compatible providers (``providers.py``: ``deepseek``, ``groq``, ``ai21``, ``llama``, ``nvidia``,
  ``openshift_ai``, ``fireworksai``, ``contextualai``, ``mixedbread``): the full URL of the operation.
"""

from __future__ import annotations

from ingest.models.services.base import InferenceService
from ingest.models.services.remote.alibaba import AlibabaCloudSearchService
from ingest.models.services.remote.anthropic import AnthropicService
from ingest.models.services.remote.azure_openai import AzureOpenAiService
from ingest.models.services.remote.azureaistudio import AzureAiStudioService
from ingest.models.services.remote.bedrock import BedrockService
from ingest.models.services.remote.cohere import CohereService
from ingest.models.services.remote.custom import CustomService
from ingest.models.services.remote.googleaistudio import GoogleAiStudioService
from ingest.models.services.remote.hugging_face import HuggingFaceService
from ingest.models.services.remote.jinaai import JinaAiService
from ingest.models.services.remote.mistral import MistralService
from ingest.models.services.remote.openai import OpenAiService
from ingest.models.services.remote.providers import COMPATIBLE_SERVICES
from ingest.models.services.remote.sagemaker import SageMakerService
from ingest.models.services.remote.vertexai import VertexAiService
from ingest.models.services.remote.voyageai import VoyageAiService
from ingest.models.services.remote.watsonx import WatsonxService

_CLASSES: tuple[type[InferenceService], ...] = (
    OpenAiService,
    AzureOpenAiService,
    CohereService,
    MistralService,
    GoogleAiStudioService,
    AnthropicService,
    HuggingFaceService,
    JinaAiService,
    VoyageAiService,
    CustomService,
    VertexAiService,
    WatsonxService,
    BedrockService,
    AzureAiStudioService,
    AlibabaCloudSearchService,
    SageMakerService,
    *COMPATIBLE_SERVICES,
)
REMOTE_SERVICES: dict[str, type[InferenceService]] = {cls.name: cls for cls in _CLASSES}

__all__ = ["REMOTE_SERVICES"]
