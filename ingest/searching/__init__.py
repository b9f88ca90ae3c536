"""Search on the embedded store: Elasticsearch's ``_search`` request over the query DSL of ``ingest.query``."""
