"""``semantic_text`` fields on the embedded store: the mapping (``fields.py``), inference at index time on every
write (``enrich.py``, called by the store for the indices that map such a field), and the ``semantic`` query's
scoring of the stored chunks (``query.py``)."""
