"""Real OpenSearch / Elasticsearch nodes for the test suite, built from Maven Central artifacts."""
