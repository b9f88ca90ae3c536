"""The sink contract: one bulk request in, one Elasticsearch-shaped item result per action out.

Semantics every sink follows (the conformance suite in tests/sinks checks them against each one):

- ``index``: create or replace the document; 201 ``created`` or 200 ``updated``. With ``id=None`` the sink
  generates an id (returned in ``ItemResult.id``).
- ``create``: 201 ``created``; an existing id gives 409 ``version_conflict_engine_exception``.
- ``update``: ``source`` is the body of a ``_bulk`` update line: ``{"doc": {...}}`` with optional
  ``"doc_as_upsert": true`` or ``"upsert": {...}``; fields of ``doc`` are merged into the stored document
  (objects merged recursively, as Elasticsearch does). A missing document without upsert gives
  404 ``document_missing_exception``. Scripts (``script``, ``scripted_upsert``) are run by the embedded store
  (the Painless subset); other sinks that apply updates themselves refuse them (400 ``illegal_argument_exception``).
- ``if_seq_no``/``if_primary_term`` and ``version``/``version_type`` on an action: Elasticsearch's
  optimistic concurrency (409 ``version_conflict_engine_exception``), checked by the store or the cluster.
- ``delete``: 200 ``deleted``; a missing document gives 404 with ``result: not_found`` and no error.

``write`` sends one bulk request and never retries: retrying 429/503 items is the job runner's business.
Errors that concern the whole request (cluster unreachable, authentication) are raised as
``ingest.models.errors.ElasticsearchError`` (status 503 for a connection failure), not reported per item.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from ingest.models.jsontypes import JsonObject, JsonValue

if TYPE_CHECKING:
    import pyarrow as pa

BulkOp = Literal["index", "create", "update", "delete"]
SimilarityName = Literal["cosine", "dot_product", "l2_norm", "max_inner_product"]


@dataclass(frozen=True)
class BulkAction:
    """One action of a bulk request (see the module docstring for ``source`` per op)."""

    op: BulkOp
    index: str
    id: str | None
    source: JsonObject | None
    # optimistic concurrency and external versions, as in Elasticsearch's action metadata (None: not set)
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    version_type: str | None = None  # "external" or "external_gte" (internal needs no version)


@dataclass(frozen=True)
class ItemResult:
    """Elasticsearch's per-item bulk outcome.

    ``status`` is the item's HTTP status; ``error`` is Elasticsearch's error object
    (``{"type", "reason", ...}``) or None. ``id``/``result``/``version`` are filled when known so the bulk
    REST layer can render the full item (``result`` is one of created/updated/deleted/not_found/noop).
    """

    status: int
    error: JsonObject | None
    id: str | None = None
    result: str | None = None
    version: int | None = None
    seq_no: int | None = None  # the operation's sequence number in its index (sinks that know it)
    primary_term: int | None = None
    source: JsonObject | None = None  # an update's document after it (sinks that know it: the item's get)

    @property
    def ok(self) -> bool:
        """True for 2xx items and for a delete of a missing document (Elasticsearch: not an error)."""
        return self.error is None


@dataclass(frozen=True)
class FieldHint:
    """What the sink must know about a vector field to map it.

    ``kind="dense"``: ``dims`` is required; ``similarity`` is Elasticsearch's name (default cosine).
    ``kind="sparse"``: token → weight objects; ``dims`` and ``similarity`` are None.
    """

    kind: Literal["dense", "sparse"]
    dims: int | None = None
    similarity: str | None = None


class Sink(ABC):
    """Where documents go. Instances are used from one thread at a time unless a sink documents otherwise."""

    # The ``ingest.sinks.registry`` kind this class implements: callers ask the registry what it can do beyond
    # this contract (``registry.batch_writes``). None: a sink outside the registry (a user's own), asked nothing.
    kind_name: str | None = None

    @abstractmethod
    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create ``index`` when missing, mapping the vector fields named in ``hints``.

        On an existing index, fields not mapped yet are added; a conflicting existing mapping raises
        ``IllegalArgumentException``.
        """

    @abstractmethod
    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """Apply one bulk request; exactly one result per action, in order. Never retries."""

    def begin_load(self, index: str) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Prepare ``index`` for a bulk load (clusters: refresh_interval -1, 0 replicas)."""

    def end_load(self, index: str) -> None:  # noqa: B027 - optional hook
        """Undo ``begin_load`` (restoring the previous settings) and refresh. Call it also when a job fails."""

    def fetch(self, index: str, ids: list[str]) -> dict[str, JsonObject]:
        """The stored ``_source`` of each id found in ``index`` (``ingest.processors.base.StoredSources``, read by
        OpenSearch's ``skip_existing``); sinks that cannot read back, like files, have nothing stored."""
        return {}

    @abstractmethod
    def refresh(self, index: str) -> None:
        """Make everything written so far visible to reads."""

    @abstractmethod
    def close(self) -> None:
        """Release connections / files. Idempotent."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Optional capabilities: a sink kind declares which it has in ``ingest.sinks.registry`` (callers check the
# declaration, not ``hasattr``); runtime_checkable so the tests can hold every declaration against its class.


@runtime_checkable
class DocumentReads(Protocol):
    """Reading stored documents one by one (the server's ``_doc`` and ``_count`` on a local sink)."""

    def index_exists(self, index: str) -> bool:
        """Whether ``index`` exists."""
        ...

    def get(self, index: str, doc_id: str) -> JsonObject | None:
        """The ``_source`` of a document (vectors included), or None; ``index_not_found_exception`` (404)."""
        ...

    def count(self, index: str) -> int:
        """Documents in ``index``; ``index_not_found_exception`` (404) when there is no such index."""
        ...


@runtime_checkable
class BatchWrites(Protocol):
    """Whole documents as one Arrow table (a job hands its batches over without turning them into dicts)."""

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str]) -> list[ItemResult]:
        """``index`` of row ``k`` of ``table`` under id ``ids[k]``; one result per row, exactly as ``write`` of
        the same actions would answer."""
        ...


class Writer(Protocol):
    """What a job's sender writes through: a sink, or a wrapper that delegates to one and declares its kind."""

    kind_name: str | None

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """See ``Sink.write``."""
        ...


@runtime_checkable
class Searching(Protocol):
    """Vector search over a mapped vector field."""

    def search(self, index: str, field: str, vector_or_weights: list[float] | dict[str, float], k: int
               ) -> list[JsonObject]:
        """Top ``k`` hits ``{"_id", "_score", "_source"}`` with Elasticsearch's scores (k-NN on a dense
        field, dot product with the query weights on a sparse one)."""
        ...


@runtime_checkable
class ClusterRequests(Protocol):
    """A remote cluster's own REST API (reads the server forwards instead of answering them itself)."""

    def request(self, method: str, path: str, *, params: JsonObject | None = None, body: JsonValue = None,
                ignore: tuple[int, ...] = ()) -> tuple[int, JsonValue]:
        """One JSON request; (status, parsed body)."""
        ...

    def index_settings(self) -> JsonObject:
        """The settings this sink gives a new index (OpenSearch: ``index.knn``)."""
        ...
