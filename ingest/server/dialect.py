"""Elasticsearch's HTTP dialect: product header, vendor media types, ``?pretty``, query-parameter checks,
JSON bodies, and the error envelope for every error.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ingest.models import jsonparse
from ingest.models.errors import ElasticsearchError, IllegalArgumentException, ParsingException
from ingest.server.filterpath import apply_filter_path
from ingest.server.limits import ContentTooLong, body_format

PRODUCT_HEADER = {"X-Elastic-Product": "Elasticsearch"}
GLOBAL_PARAMS = frozenset({"pretty", "human", "error_trace", "filter_path"})
_COMPAT = re.compile(r"application/vnd\.elasticsearch\+(?:json|x-ndjson|yaml)\s*;\s*compatible-with\s*=\s*(\d+)", re.I)
SUPPORTED_COMPAT = ("8", "9")


class MediaTypeError(ElasticsearchError):
    """``media_type_header_exception`` (400): a compatible-with version we do not speak."""

    status = 400
    error_type = "media_type_header_exception"


def compat_version(request: Request) -> str | None:
    """The ``compatible-with`` version the client asked for (Accept or Content-Type), validated."""
    found = None
    for header in ("accept", "content-type"):
        match = _COMPAT.search(request.headers.get(header, ""))
        if match:
            if match.group(1) not in SUPPORTED_COMPAT:
                raise MediaTypeError(
                    f"Invalid media-type value on headers [Accept, Content-Type]: compatible-with={match.group(1)} "
                    f"is not supported; use {' or '.join(SUPPORTED_COMPAT)}"
                )
            found = match.group(1)
    return found


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    return value is not None and value.lower() in ("", "true")


def es_response(request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None, *,
                filtered: bool = True) -> Response:
    """A JSON response in the client's media type, pretty-printed on ``?pretty``, filtered by ``?filter_path``
    (unless ``filtered`` is False: errors are never filtered)."""
    if filtered:
        body = apply_filter_path(body, request.query_params.get("filter_path"))
    pretty = _flag(request, "pretty")
    text = json.dumps(body, indent=2 if pretty else None, separators=None if pretty else (",", ":"),
                      ensure_ascii=False)
    if pretty:
        text += "\n"
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate from stored data: escaped, so the answer stays valid UTF-8
        data = json.dumps(body, indent=2 if pretty else None, separators=None if pretty else (",", ":")).encode()
    try:
        version = compat_version(request)
    except MediaTypeError:
        version = None
    media = (f"application/vnd.elasticsearch+json;compatible-with={version}" if version
             else "application/json")
    return Response(data, status_code=status, media_type=media,
                    headers={**PRODUCT_HEADER, **(headers or {})})


def error_response(request: Request, exc: ElasticsearchError) -> Response:
    """The error envelope; with ``?error_trace=true`` the Python stack trace is added as ``stack_trace``."""
    body = exc.to_dict()
    if _flag(request, "error_trace") and isinstance(body["error"], dict):
        body["error"]["stack_trace"] = "".join(traceback.format_exception(exc))
    headers = {}
    if isinstance(exc, ContentTooLong):  # the rest of the body is never read: close rather than drain it
        headers["Connection"] = "close"
    header = exc.extra.get("header")
    www = header.get("WWW-Authenticate") if isinstance(header, dict) else None
    if isinstance(www, list) and www:
        headers["WWW-Authenticate"] = ", ".join(str(w) for w in www)
    return es_response(request, body, exc.status, headers, filtered=False)


def check_params(request: Request, allowed: Iterable[str]) -> None:
    """Elasticsearch's 400 for query parameters the route does not know."""
    known = GLOBAL_PARAMS | set(allowed)
    unknown = sorted(k for k in request.query_params if k not in known)
    if not unknown:
        return
    path = request.url.path
    if len(unknown) == 1:
        raise IllegalArgumentException(f"request [{path}] contains unrecognized parameter: [{unknown[0]}]")
    raise IllegalArgumentException(f"request [{path}] contains unrecognized parameters: [{'], ['.join(unknown)}]")


def int_param(request: Request, name: str) -> int | None:
    """An integer query parameter (None when absent), with Elasticsearch's message for a bad one."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise IllegalArgumentException(f"Failed to parse int parameter [{name}] with value [{raw}]") from None


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter as Elasticsearch parses it (``true``/``false``/empty)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw in ("", "true"):
        return True
    if raw == "false":
        return False
    raise IllegalArgumentException(
        f"Failed to parse value [{raw}] as only [true] or [false] are allowed."
    )


def refresh_param(request: Request) -> str | None:
    """A write's ``refresh`` (None when absent): ``true``, empty (= ``true``), ``false`` or ``wait_for``; anything
    else refused with Elasticsearch's message (``WriteRequest.RefreshPolicy.parse``), never taken as ``false``."""
    raw = request.query_params.get("refresh")
    if raw is None or raw in ("", "true", "false", "wait_for"):
        return raw
    raise IllegalArgumentException(f"Unknown value for refresh: [{raw}].")


_TIME = re.compile(r"(-?\d+)(nanos|micros|ms|s|m|h|d)")
_TIME_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_time(raw: str, name: str) -> float:
    """Seconds of an Elasticsearch time value (``30s``, ``2m``, ``500ms``...)."""
    match = _TIME.fullmatch(raw.strip())
    if not match or int(match.group(1)) < 0:
        raise IllegalArgumentException(
            f"failed to parse setting [{name}] with value [{raw}] as a time value: unit is missing or unrecognized"
        )
    return int(match.group(1)) * _TIME_UNITS[match.group(2)]


def time_param(request: Request, name: str, default_s: float) -> float:
    """A time-value query parameter in seconds."""
    raw = request.query_params.get(name)
    return default_s if raw is None else parse_time(raw, name)


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The request body parsed as JSON (or YAML, by its Content-Type), with Elasticsearch's errors for a missing,
    oversized, malformed or too deeply nested body. The size limit is enforced while the body streams in."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ParsingException("request body is required", error_type="parse_exception")
        return None
    if body_format(request.headers.get("content-type")) == "yaml":
        return _yaml(raw)
    value = jsonparse.loads(raw)
    if jsonparse.may_hold_lone_surrogate(raw):  # "\ud800" parses, but is no text: U+FFFD, as the models do
        value = jsonparse.well_formed(value)
    return value


def _yaml(raw: bytes) -> Any:
    """A YAML body as the JSON value it stands for (timestamps stay strings, as Elasticsearch's parser keeps them)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """Refuses aliases: a few lines of nested aliases expand to gigabytes (the "billion laughs")."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("YAML aliases are not supported in request bodies")
            return super().compose_node(parent, index)

    def timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        return str(loader.construct_scalar(node))

    NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", timestamp_as_text)
    too_deep = ParsingException(
        f"Document nesting depth exceeds the maximum allowed ({jsonparse.MAX_NESTING_DEPTH})",
        error_type="x_content_parse_exception",
    )
    try:
        value = yaml.load(raw, Loader=NoAliasLoader)  # a SafeLoader subclass
    except RecursionError:
        raise too_deep from None
    except yaml.YAMLError as exc:
        raise ParsingException(f"failed to parse the YAML body: {exc}", error_type="x_content_parse_exception") from None
    if jsonparse.nesting_depth(value) > jsonparse.MAX_NESTING_DEPTH:
        raise too_deep
    try:  # binary and set values become their JSON text, as every other value a route can store
        return json.loads(json.dumps(value, default=str))
    except RecursionError:
        raise too_deep from None
