"""Elasticsearch's index and alias name rules (``MetadataCreateIndexService.validateIndexOrAliasName``)."""

from __future__ import annotations

from ingest.models.errors import ElasticsearchError

_BAD_CHARS = '\\/*?"<>| ,'


class InvalidIndexName(ElasticsearchError):
    """``invalid_index_name_exception`` (400)."""

    status = 400
    error_type = "invalid_index_name_exception"

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"Invalid index name [{name}], {why}", extra={"index_uuid": "_na_", "index": name})


def validate_index_name(name: str) -> None:
    """Elasticsearch's index name rules and messages, in its order (``validateIndexOrAliasName``, then
    lowercase)."""
    if any(c in _BAD_CHARS for c in name):
        raise InvalidIndexName(name, 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]')
    if "#" in name:
        raise InvalidIndexName(name, "must not contain '#'")
    if ":" in name:
        raise InvalidIndexName(name, "must not contain ':'")
    if name.startswith(("_", "-", "+")):
        raise InvalidIndexName(name, "must not start with '_', '-', or '+'")
    if len(name.encode()) > 255:
        raise InvalidIndexName(name, "index name is too long, (" + str(len(name.encode())) + " > 255)")
    if not name or name in (".", ".."):
        raise InvalidIndexName(name, "must not be '.' or '..'")
    if name != name.lower():
        raise InvalidIndexName(name, "must be lowercase")
