"""What the server accepts before any route runs: request media types and the body size limit.

Elasticsearch refuses a body whose ``Content-Type`` is not an XContent type with 406 (RestController): the
browser-safelisted types (``text/plain``, form encodings) in particular, since any web page can POST them
cross-origin without a CORS preflight. ``http.max_content_length`` (default ``100mb``) is enforced while the
body streams in, chunked or not, so an oversized body is refused after at most the limit has been read.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import Message, Receive

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.models.settings import Settings
from ingest.sinks.served.wire import ARROW_MEDIA_TYPE, ARROW_PATH

DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024  # Elasticsearch's http.max_content_length default

# XContent media types (Elasticsearch's XContentType header values); cbor and smile are recognised so
# they are refused by name rather than parsed as something else.
_JSON = frozenset({"application/json", "application/x-ndjson", "application/*"})
_VND_JSON = frozenset({"application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson"})
_YAML = frozenset({"application/yaml", "application/vnd.elasticsearch+yaml"})
_BINARY = frozenset({"application/cbor", "application/smile",
                     "application/vnd.elasticsearch+cbor", "application/vnd.elasticsearch+smile"})
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|tb|t|pb|p)", re.I)
_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


class SimpleError(ElasticsearchError):
    """An error Elasticsearch renders as ``{"error": "<reason>", "status": N}`` (its simple error response)."""

    def to_dict(self) -> dict[str, Any]:
        """The simple body, without the ``root_cause`` envelope."""
        return {"error": self.reason, "status": self.status}


class ContentTooLong(ElasticsearchError):
    """413: the body is larger than ``http.max_content_length``."""

    status = 413
    error_type = "content_too_long_exception"


def parse_byte_size(raw: str, setting: str) -> int:
    """Bytes of an Elasticsearch byte-size value (``100mb``, ``1gb``, ``512kb``, ``10b``)."""
    match = _SIZE.fullmatch(raw.strip())
    if not match:
        raise IllegalArgumentException(
            f"failed to parse setting [{setting}] with value [{raw}] as a size in bytes: unit is missing or unrecognized"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)[0].lower()])


def max_content_length(settings: Settings | None = None) -> int:
    """``http.max_content_length`` from ``$INGEST_HTTP_MAX_CONTENT_LENGTH`` (an Elasticsearch byte size)."""
    raw = (settings or Settings.from_env()).http_max_content_length
    return DEFAULT_MAX_CONTENT_LENGTH if not raw else parse_byte_size(raw, "http.max_content_length")


def body_format(content_type: str | None) -> str | None:
    """``json``, ``yaml`` or ``binary`` for an XContent media type; None for anything else.

    Parameters must be ones Elasticsearch allows: ``charset=utf-8``, and ``compatible-with`` on the vendor types.
    """
    if content_type is None:
        return None
    base, *params = (part.strip() for part in content_type.split(";"))
    base = base.lower()
    vendor = base.startswith("application/vnd.elasticsearch+")
    for param in params:
        key, _, value = (p.strip().lower() for p in param.partition("="))
        if key == "charset" and value in ("utf-8", "utf8"):
            continue
        if key == "compatible-with" and vendor and value.isdigit():
            continue
        return None
    if base in _JSON or base in _VND_JSON:
        return "json"
    if base in _YAML:
        return "yaml"
    if base in _BINARY:
        return "binary"
    return None


def check_content_type(headers: Any, path: str = "") -> None:
    """406 unless a request that carries a body says it is JSON/NDJSON or YAML (CBOR/Smile: not supported here);
    the local client's Arrow route (``path``) takes an Arrow IPC stream."""
    length = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if not chunked and (length is None or not length.isdigit() or int(length) == 0):
        return
    values = headers.getlist("content-type")
    if not values:
        raise SimpleError("Content-Type header is missing", status=406)
    if path == ARROW_PATH and values == [ARROW_MEDIA_TYPE]:
        return
    if len(values) > 1 or body_format(values[0]) not in ("json", "yaml"):
        raise SimpleError(f"Content-Type header [{','.join(values)}] is not supported", status=406)


def check_declared_length(headers: Any, limit: int) -> None:
    """413 at once when ``Content-Length`` already says the body is too large."""
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ContentTooLong(f"Request content length [{length}] exceeds the limit of [{limit}] bytes")


class LimitedReceive:
    """Wraps an ASGI ``receive``: raises :class:`ContentTooLong` as soon as the body passes ``limit`` bytes.

    Routes read bodies through ``receive``, so no route can buffer more than the limit, whatever the framing.
    """

    def __init__(self, receive: Receive, limit: int | None) -> None:
        self._receive = receive
        self._limit = limit
        self._seen = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._limit is not None and self._seen > self._limit:
                self.exceeded = True
                raise ContentTooLong(
                    f"Request content length exceeds the limit of [{self._limit}] bytes "
                    f"(read [{self._seen}] bytes of a streamed body)"
                )
        return message
