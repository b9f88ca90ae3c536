"""Sink kinds by ``dest`` scheme: what each sink can do, declared as data, and how to open it.

Everything that depends on the kind of destination (how many bulk senders a job runs, whether Ray workers may
write themselves, whether the server answers ``_doc`` itself or forwards it, whether ``ingest search`` works)
asks this table rather than matching the start of the ``dest`` string. Adding a sink is one folder whose
package exposes ``open_dest(dest, **options) -> Sink`` plus one row of ``KINDS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast
from urllib.parse import urlparse

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import BatchWrites, ClusterRequests, DocumentReads, Searching, Sink, Writer
from ingest.sinks.bulk.versioned import VersionedDocuments

Writers = Literal["many", "one"]


@dataclass(frozen=True)
class Capabilities:
    """What a kind of sink can do (dlt's destination capabilities; checked against the classes by the tests)."""

    writers: Writers  # "many": any number of sink instances in any processes may write at once (each job
    # sender and Ray worker opens its own); "one": one instance in one process (a local single-writer file)
    fetch: bool  # ``fetch`` reads stored documents back (else it answers "nothing stored")
    documents: bool  # DocumentReads: get / count / index_exists, served by the REST ``_doc`` and ``_count``
    search: bool  # Searching: vector search (``ingest search``)
    transactions: bool  # a whole bulk request is applied or nothing of it
    arrow_native: bool  # vector fields are stored as typed Arrow/columnar columns, not JSON
    cluster: bool  # ClusterRequests: a remote Elasticsearch/OpenSearch that answers reads itself
    versions: bool = False  # VersionedDocuments: _version/_seq_no per document, scans (the REST document APIs)
    batch_writes: bool = False  # BatchWrites: whole documents as an Arrow table (a job's batches stay Arrow)
    index_store: bool = False  # keeps its own indices (mappings, templates, aliases answered here: IndexStore)


@dataclass(frozen=True)
class SinkKind:
    """One kind of destination: its ``dest`` schemes, the module that opens it, what it can do."""

    name: str
    schemes: tuple[str, ...]  # a bare ``dest`` equal to a scheme (``embedded``) names the kind's default
    usage: str  # the ``dest`` forms, for help texts and the unknown-destination error
    module: str  # exposes ``open_dest(dest: str, **options) -> Sink``
    capabilities: Capabilities
    extra: str | None = None  # the optional dependency group it needs (``pip install 'ingest[extra]'``)


KINDS: tuple[SinkKind, ...] = (
    SinkKind("embedded", ("embedded",), "embedded | embedded:///path/db.duckdb", "ingest.sinks.embedded",
             Capabilities("one", fetch=True, documents=True, search=True, transactions=True, arrow_native=True,
                          cluster=False, versions=True, batch_writes=True, index_store=True)),
    SinkKind("cluster", ("http", "https"), "http(s)://[user:password@]host:port (Elasticsearch or OpenSearch)",
             "ingest.sinks.cluster",
             Capabilities("many", fetch=True, documents=False, search=False, transactions=False,
                          arrow_native=False, cluster=True)),
    SinkKind("files", ("file",), "file:///path/out.parquet|.jsonl | file:///folder", "ingest.sinks.files",
             Capabilities("one", fetch=False, documents=True, search=False, transactions=True, arrow_native=True,
                          cluster=False)),
    SinkKind("lancedb", ("lancedb",), "lancedb:///folder (one Lance table per index)", "ingest.sinks.lancedb",
             Capabilities("one", fetch=True, documents=True, search=True, transactions=False, arrow_native=True,
                          cluster=False), extra="lancedb"),
    # Not a ``--dest``: the home's embedded store while ``ingest serve`` owns it (``AppContext.open_sink``); its
    # REST API as a cluster, plus whole Arrow batches to the server's local-only route.
    SinkKind("served", (), "the embedded store through the home's running `ingest serve`", "ingest.sinks.served",
             Capabilities("one", fetch=True, documents=False, search=True, transactions=False, arrow_native=False,
                          cluster=True, batch_writes=True)),
)


class Opener(Protocol):
    """What a sink folder's ``open_dest`` is."""

    def __call__(self, dest: str, **options: Any) -> Sink: ...


def redact_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part redacted, for messages and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    from ingest.models.services.remote.secret import REDACTED

    return url.replace(f":{parsed.password}@", f":{REDACTED}@", 1)


def usage() -> str:
    """Every accepted ``dest`` form, for help texts and errors."""
    return "; ".join(kind.usage for kind in KINDS if kind.schemes)


def kind_of(dest: str) -> SinkKind:
    """The kind of sink ``dest`` names; IllegalArgumentException listing every kind when none does."""
    scheme = dest.partition(":")[0].lower()
    for kind in KINDS:
        if scheme in kind.schemes:
            return kind
    raise IllegalArgumentException(f"unknown destination [{redact_url(dest)}]: expected one of: {usage()}")


def capabilities(dest: str) -> Capabilities:
    """What the sink ``dest`` names can do."""
    return kind_of(dest).capabilities


def open_sink(dest: str, **options: Any) -> Sink:
    """Open the sink ``dest`` names; ``options`` go to its constructor (``timeout_s``, ``api_key``, ``format``…)."""
    kind = kind_of(dest)
    try:
        module = importlib.import_module(kind.module)
    except ImportError as exc:
        if kind.extra is None:
            raise
        raise IllegalArgumentException(
            f"the [{kind.name}] destination needs the optional dependencies of the [{kind.extra}] extra "
            f"(pip install 'ingest[{kind.extra}]'): {exc}") from None
    opener = cast(Opener, module.open_dest)
    return opener(dest, **options)


_WHAT = {"documents": "document reads (get, count)", "search": "vector search",
         "versions": "the document APIs (versioned reads, _mget, by-query)"}


def require(kind: SinkKind, what: Literal["documents", "search", "versions"]) -> None:
    """A 400 naming the kinds that can, unless ``kind`` declares the capability ``what``."""
    if not getattr(kind.capabilities, what):
        able = ", ".join(k.name for k in KINDS if getattr(k.capabilities, what) and k.schemes)
        raise IllegalArgumentException(
            f"the [{kind.name}] destination does not support {_WHAT[what]}; destinations that do: {able}")


def document_reads(sink: Sink, kind: SinkKind) -> DocumentReads:
    """``sink`` as DocumentReads, when its kind declares it; else a 400 naming the kinds that do."""
    require(kind, "documents")
    return cast(DocumentReads, sink)


def versioned_documents(sink: Sink, kind: SinkKind) -> VersionedDocuments:
    """``sink`` as VersionedDocuments, when its kind declares it; else a 400 naming the kinds that do."""
    require(kind, "versions")
    return cast(VersionedDocuments, sink)


def searching(sink: Sink, kind: SinkKind) -> Searching:
    """``sink`` as Searching, when its kind declares it; else a 400 naming the kinds that do."""
    require(kind, "search")
    return cast(Searching, sink)


def named(name: str | None) -> SinkKind | None:
    """The kind called ``name`` (a sink's declared ``kind_name``); None for a sink outside the registry."""
    return next((kind for kind in KINDS if kind.name == name), None)


def batch_writes(sink: Writer) -> BatchWrites | None:
    """``sink`` (or the wrapper delegating to it) as BatchWrites when its declared kind has the capability."""
    kind = named(sink.kind_name)
    return cast(BatchWrites, sink) if kind is not None and kind.capabilities.batch_writes else None


def cluster_requests(sink: Sink, kind: SinkKind) -> ClusterRequests | None:
    """``sink`` as ClusterRequests when its kind is a cluster, else None."""
    return cast(ClusterRequests, sink) if kind.capabilities.cluster else None
