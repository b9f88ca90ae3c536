"""The embedded store of a home while ``ingest serve`` owns it, reached through that server.

- ``sink.py``: ``ServedSink``, the server's REST API as a sink (``_bulk``, mappings, reads) authenticated by the
  home's local token, and its fast write: whole Arrow batches to the server's local-only route.
- ``wire.py``: the ``_bulk`` header saying the job's pipelines ran, and the Arrow route's body (a small JSON header + an Arrow IPC stream) and answer, both ways.
- ``reads.py``: ``ingest search`` and ``ingest export`` through the server (``_search``, the mapping's vectors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ingest.models.errors import IllegalArgumentException

if TYPE_CHECKING:
    from ingest.sinks.served.sink import Locate, ServedSink, open_served

__all__ = ["Locate", "ServedSink", "open_served"]


def open_dest(dest: str, **options: Any) -> Any:
    """The registry's opener: never a ``--dest`` (``AppContext.open_sink`` opens this kind with ``open_served``)."""
    raise IllegalArgumentException(f"[{dest}] is not a destination: the served store is opened by the home's CLI")


def __getattr__(name: str) -> Any:
    # the server imports ``wire`` from here at start; the sink (and the elasticsearch client) only the CLI needs
    if name in __all__:
        from ingest.sinks.served import sink

        return getattr(sink, name)
    raise AttributeError(name)
