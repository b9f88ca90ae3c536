"""Engine-neutral pieces of Elasticsearch's search: the query DSL subset (``dsl.py``) and ``_source``
filtering (``source.py``), evaluated on documents as JSON objects."""
