"""Middle layer: Elasticsearch-compatible ingest processors and pipelines on Arrow record batches."""
