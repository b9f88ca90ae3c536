"""What a parsed pipeline offers the code that runs it (jobs, ``_bulk``, the Ray workers).

``ingest.processors.pipeline.Pipeline`` is the implementation; callers in ``ingest/`` type their parameters with
this protocol, so a job's stages depend on what they use, not on how pipelines are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.processors.arrow_exec import PipelineResult
    from ingest.processors.base import SecurityUser, StoredSources
    from ingest.processors.metrics import ProcessorStatsSink
    from ingest.processors.outputs import FieldOutput


class RunnablePipeline(Protocol):
    """A pipeline ready to run on Arrow batches."""

    @property
    def id(self) -> str:
        """The pipeline's id."""

    def run(self, data: pa.RecordBatch | pa.Table, *, columnar: bool = True,
            stored: StoredSources | None = None, user: SecurityUser | None = None,
            stats: ProcessorStatsSink | None = None) -> PipelineResult:
        """Run on a batch: the documents to index, their input rows, one outcome per input row (``stats``:
        where per-processor counts go)."""

    def reads_stored_documents(self) -> bool:
        """Whether the rows need ``_index`` / ``_id`` and a ``stored`` lookup (OpenSearch's ``skip_existing``)."""

    def endpoint_refs(self) -> list[str]:
        """The inference endpoints it calls."""

    def outputs(self) -> list[FieldOutput]:
        """The model outputs it writes, with their vector types (index mappings come from this)."""
