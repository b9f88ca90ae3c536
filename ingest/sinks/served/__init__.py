"""The embedded store of a home while ``ingest serve`` owns it, reached through that server.

- ``sink.py``: ``ServedSink``, the server's REST API as a sink (``_bulk``, mappings, reads) authenticated by the
  home's local token, and its fast write: whole Arrow batches to the server's local-only route.
- ``wire.py``: that route's body (a small JSON header + an Arrow IPC stream) and answer, both ways.
- ``reads.py``: ``ingest search`` and ``ingest export`` through the server (``_search``, the mapping's vectors).
"""

from __future__ import annotations

from ingest.sinks.served.sink import Locate, ServedSink, open_served

__all__ = ["Locate", "ServedSink", "open_served"]
