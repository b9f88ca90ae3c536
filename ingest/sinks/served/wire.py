"""What the home's CLI and its server say to each other beyond Elasticsearch's API (local client only).

- ``PIPELINES_DONE``: a ``_bulk`` header: the job ran every pipeline of its documents itself, the index's final
  pipeline included, so the server runs none (it is trusted only with the local token, from loopback).
"""

from __future__ import annotations

PIPELINES_DONE = "x-ingest-pipelines-done"
