"""The capability behind the document APIs (``_doc`` reads with versions, ``_mget``, ``_delete_by_query``,
``_update_by_query``): stored documents with their ``_version``/``_seq_no``, read by id or scanned in id order.

A sink kind declares it as ``Capabilities.versions`` in ``ingest.sinks.registry``; callers get the sink through
``registry.versioned_documents``, never by probing for methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from ingest.sinks.base import DocumentReads, FieldHint
from ingest.sinks.bulk.apply import StoredDoc
from ingest.sinks.bulk.mapping import Properties


@runtime_checkable
class VersionedDocuments(DocumentReads, Protocol):
    """Documents with versions: what the REST document APIs read from a local sink."""

    def indices(self) -> list[str]:
        """Names of the existing indices (wildcard expressions are resolved against them)."""
        ...

    def get_docs(self, index: str, ids: list[str]) -> dict[str, StoredDoc]:
        """The documents found among ``ids``; ``index_not_found_exception`` (404) for a missing index."""
        ...

    def scan(self, index: str, page: int = 1000) -> Iterator[list[StoredDoc]]:
        """Every document of ``index`` in id order, ``page`` at a time (writes may go on between pages)."""
        ...

    def properties(self, index: str) -> Properties:
        """The index's mapping ``properties`` (dynamic mapping included)."""
        ...

    def hints(self, index: str) -> dict[str, FieldHint]:
        """The index's vector fields (dense: dims and similarity; sparse), which ``properties`` leaves out."""
        ...

    def fingerprint(self, index: str) -> tuple[int, int, int]:
        """A cheap summary that changes whenever the index's documents do (searches cache by it)."""
        ...

    def refresh(self, index: str) -> None:
        """Make everything written so far visible to reads."""
        ...
