"""Shared `_bulk` semantics for the sinks that apply them themselves: per-item outcomes (`items`), the
per-id state machine of one request (`apply`) and Elasticsearch's dynamic mapping (`mapping`)."""
