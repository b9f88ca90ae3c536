"""The processor interface and the execution environment shared by every processor family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ingest.models.errors import ElasticsearchError
from ingest.processors.errors import as_es_error

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.processors.config import Options
    from ingest.processors.document import IngestDocument
    from ingest.processors.metrics import ProcessorMeter
    from ingest.processors.outputs import FieldOutput, OutputLookup
    from ingest.processors.painless import Script
    from ingest.processors.protocols import InferenceClient


class Condition(Protocol):
    """A compiled ``if`` script."""

    source: str

    def test(self, doc: IngestDocument) -> bool:
        """Whether the processor should run on this document."""


@dataclass
class Failure:
    """A processor failure with the metadata exposed to ``on_failure`` handlers."""

    error: ElasticsearchError
    processor_type: str
    processor_tag: str | None
    pipeline: str | None


class StoredSources(Protocol):
    """Read access to documents already indexed where the pipeline's output goes (OpenSearch's ``skip_existing``
    compares with them). Implemented by the sinks in ``ingest/``; this layer only sees the protocol."""

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored ``_source`` of each id found in ``index`` (absent ids, or a missing index, are left out)."""


@dataclass(frozen=True)
class SecurityUser:
    """The authenticated user a request runs as, for ``set_security_user`` (built by the server's security layer;
    None everywhere security is off, as on an Elasticsearch cluster without authentication)."""

    username: str
    roles: list[str] = field(default_factory=list)
    full_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    realm_name: str | None = None
    realm_type: str | None = None
    authentication_type: str | None = None  # "REALM", "API_KEY", "TOKEN", ...
    api_key: dict[str, Any] | None = None  # {"id", "name", "metadata"} when authenticated with an API key


class EnrichPolicyInfo(Protocol):
    """An executed enrich policy as processors see it (``ingest.processors.enrich.EnrichPolicy``)."""

    @property
    def name(self) -> str:
        """The policy's name."""

    @property
    def type(self) -> str:
        """``match``, ``range`` or ``geo_match``."""

    @property
    def match_field(self) -> str:
        """The field of the enrich documents that incoming values are matched against."""

    @property
    def enrich_fields(self) -> tuple[str, ...]:
        """The fields of the enrich documents that are added."""


class EnrichSource(Protocol):
    """Enrich policies and their enrich indices (``enrich`` processor). ``ingest.processors.enrich.EnrichIndex`` is one
    built from documents in memory; the server's policy store would be another."""

    def policy(self, name: str) -> EnrichPolicyInfo | None:
        """The executed policy ``name``, or None when it has no index."""

    def matches(self, name: str, value: Any, max_matches: int) -> list[dict[str, Any]]:
        """The enrich documents of policy ``name`` that match ``value`` (at most ``max_matches``)."""


class CalledPipeline(Protocol):
    """What the ``pipeline`` processor needs from the pipeline it calls (``ingest.processors.pipeline.Pipeline``;
    a protocol so that this module does not import the pipeline, which imports every processor)."""

    @property
    def id(self) -> str:
        """The pipeline's id."""

    def execute_docs(self, docs: list[IngestDocument], env: ExecEnv | None = None) -> list[Failure | None]:
        """Run on documents in place, keeping the caller's environment; one failure (or None) per document."""

    def pipeline_refs(self) -> list[str]:
        """Pipelines it calls by name (for the static cycle check of verbose ``_simulate``)."""


@dataclass
class ExecEnv:
    """What processors may need at run time beyond the document."""

    resolve_pipeline: Callable[[str], CalledPipeline | None]
    inference: InferenceClient | None = None  # ingest.models.api.InferenceAPI, which satisfies the protocol
    pipeline_id: str | None = None
    # Where to read already-indexed documents; None (e.g. ``_simulate``) reads as "nothing is stored".
    stored: StoredSources | None = None
    # Who the request runs as (None: security is off).
    user: SecurityUser | None = None
    # Enrich policies (None: there are none).
    enrich: EnrichSource | None = None
    # Per-processor counters of this run (None: not measured).
    meter: ProcessorMeter | None = None


@dataclass
class Common:
    """The options every processor takes."""

    tag: str | None = None
    description: str | None = None
    condition: Condition | None = None
    ignore_failure: bool = False
    on_failure: list[Processor] = field(default_factory=list)


class Processor:
    """One processor. Subclasses implement ``execute`` (one document) and may override the batch/columnar hooks."""

    type: ClassVar[str]
    # Whether it compares with the documents already indexed (OpenSearch's ``skip_existing``).
    skip_existing: bool = False

    def __init__(self, common: Common | None = None) -> None:
        self.common = common or Common()

    @property
    def tag(self) -> str | None:
        """The processor's ``tag``."""
        return self.common.tag

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        """Build the processor from its options (every option must be read; leftovers are rejected)."""
        raise NotImplementedError

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        """Change ``doc`` in place (set ``doc.dropped`` to drop it); raise an ElasticsearchError on failure."""
        raise NotImplementedError

    def execute_batch(self, docs: list[IngestDocument], env: ExecEnv) -> list[ElasticsearchError | Failure | None]:
        """Run over many documents; one result per document (None on success). Batching processors override."""
        out: list[ElasticsearchError | Failure | None] = []
        for doc in docs:
            try:
                self.execute(doc, env)
                out.append(None)
            except RecursionError:
                out.append(ElasticsearchError("too deeply nested document", error_type="illegal_argument_exception",
                                              status=400))
            except Exception as exc:
                out.append(as_es_error(exc))
        return out

    def columnar(self, table: pa.Table, env: ExecEnv | None = None) -> pa.Table | None:
        """The columnar fast path: the new table, or None when this batch must go per document.

        ``env`` is given for processors that call out (inference); pure column transforms ignore it.
        """
        return None

    def children(self) -> list[Processor]:
        """Nested processors (foreach, on_failure), for reference walks."""
        return list(self.common.on_failure)

    def endpoint_refs(self) -> list[str]:
        """Inference endpoints this processor (and its children) call."""
        return [ref for child in self.children() for ref in child.endpoint_refs()]

    def pipeline_refs(self) -> list[str]:
        """Pipelines this processor (and its children) call by name."""
        return [ref for child in self.children() for ref in child.pipeline_refs()]

    def output_hints(self) -> dict[str, str]:
        """Columns this processor writes model output to, with their kind (``dense`` / ``sparse``), once known:
        how ``arrow_exec`` types them. Only the model-calling processors have any."""
        return {}

    def outputs(self, lookup: OutputLookup) -> list[FieldOutput]:
        """Model outputs this processor (and its children) write; processors that call a model, chunk text or
        call a pipeline override it (see ingest.processors.outputs)."""
        return [out for child in self.children() for out in child.outputs(lookup)]


class Factory(Protocol):
    """Builds nested processors and compiles scripts (implemented in ingest.processors.registry)."""

    def processors(self, configs: object, where: str) -> list[Processor]:
        """A list of processor definitions."""

    def processor(self, config: object) -> Processor:
        """One ``{"type": {options}}`` definition."""

    def script(self, source: str, params: dict[str, Any] | None, *, condition: bool) -> Script:
        """A compiled Painless-subset script."""
