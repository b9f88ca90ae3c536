"""What the Elasticsearch and OpenSearch sinks share: the REST sink (`sink`), chunk fields (`chunks`) and
telling the two distributions apart (`detect`)."""
