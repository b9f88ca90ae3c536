"""Elasticsearch's index APIs over the embedded store: the catalogue (settings, aliases, creation facts),
index expressions (wildcards, comma lists, aliases), explicit mappings, and which pipelines run for a document."""
