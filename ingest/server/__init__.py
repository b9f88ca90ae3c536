"""Elasticsearch-compatible REST server (FastAPI), a thin shell over the Python APIs."""
