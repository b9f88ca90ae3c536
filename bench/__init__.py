"""Benchmarks (not timed tests): ``python -m bench`` runs the runtime benchmark then the retrieval check."""
