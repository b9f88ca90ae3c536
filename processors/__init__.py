"""Middle layer: Elasticsearch-compatible ingest processors and pipelines on Arrow record batches.

- ``pipeline`` (definitions, pydantic-validated) and ``registry`` (type names → processors, common options)
- ``engine``: processor-major execution with Elasticsearch's failure semantics; ``arrow_exec``: ``Pipeline.run``
  on Arrow, choosing the columnar fast path per processor; ``simulate``: the ``_simulate`` response
- processor families: ``fields``, ``strings``, ``parsing`` (+ ``dates``), ``textparse`` (dissect), ``grok`` (pattern library + processor),
  ``flow`` (drop, fail, pipeline, foreach, terminate, script), ``routing`` (uri_parts, reroute),
  ``inference`` (+ ``chunking``, ``opensearch``), ``network`` (community_id, network_direction,
  registered_domain), ``useragent``, ``geo`` (geoip, ip_location), ``redact``, ``attachment``, ``enrich``,
  ``security`` (set_security_user), ``streams`` (normalize_for_stream, recover_failure_document); ``datemath``
  resolves the date-math index names ``date_index_name`` writes
- ``painless``: the documented Painless subset (lexer, parser, interpreter, columnar compilation)
- ``service.PipelineService``: stored pipelines (ingest.models.store) and simulate, for the REST routes and the CLI
"""

from ingest.processors.arrow_exec import DocOutcome, PipelineResult
from ingest.processors.base import SecurityUser
from ingest.processors.datemath import resolve_index_name
from ingest.processors.enrich import EnrichIndex, EnrichPolicy
from ingest.processors.pipeline import Pipeline, parse_pipeline
from ingest.processors.service import PipelineService

__all__ = ["DocOutcome", "EnrichIndex", "EnrichPolicy", "Pipeline", "PipelineResult", "PipelineService",
           "SecurityUser", "parse_pipeline", "resolve_index_name"]
