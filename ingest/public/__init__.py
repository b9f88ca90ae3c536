"""The package-root Python API (``ingest.run_job``, ``ingest.inference``, ``ingest.pipelines``, ``ingest.search``),
loaded lazily by ``ingest/__init__.py``. See the README's "Python API"."""
