"""Top layer: bulk ingest jobs, sinks, the Elasticsearch-compatible REST server and the CLI."""
