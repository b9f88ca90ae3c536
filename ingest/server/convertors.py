"""Path convertors shared by the route modules: ``{index:index}``.

Starlette compiles a route's path when the route is declared, so the convertor must be registered before any
module declaring ``{index:index}`` runs its decorators: every such module imports this one.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from ingest.models.errors import ElasticsearchError
from ingest.processors.datemath import resolve_index_name


class IndexNameConvertor(Convertor[str]):
    """A path segment that can be an index name: not starting with ``_``; or a date-math name such as
    ``<logs-{now/d}>`` (sent URL-encoded, its ``/`` arrives decoded), resolved here as Elasticsearch resolves
    date math in every index path, so routes and privilege checks see the concrete index."""

    regex = "<[^>]*>|[^_/][^/]*"

    def convert(self, value: str) -> str:
        try:
            return resolve_index_name(value)
        except ElasticsearchError:  # a bad expression is left as sent: the index-name check names it
            return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("index", IndexNameConvertor())
