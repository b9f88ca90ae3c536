"""Upstream HTTP failures → Elasticsearch's errors, with its messages (``BaseResponseHandler`` and friends).

The status of the error is the upstream status when it is below 500, else 400 (``toRestStatus``). Whether a
status is retried is the provider's choice (``retry_statuses``); how long to wait comes from ``Retry-After``,
``retry-after-ms`` and the providers' rate-limit reset headers.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.models.errors import ElasticsearchError, ElasticsearchTimeoutException, StatusException

SERVER_ERROR = "Received a server error status code"
SERVER_BUSY = "Received a server busy error status code"
RATE_LIMIT = "Received a rate limit status code"
AUTHENTICATION = "Received an authentication error status code"
PERMISSION_DENIED = "Received a permission denied error status code"
REDIRECTION = "Unhandled redirection"
CONTENT_TOO_LARGE = "Received a content too large status code"
UNSUCCESSFUL = "Received an unsuccessful status code"
BAD_REQUEST = "Received a bad request status code"
SERVER_ERROR_OBJECT = "Received an error response"

DEFAULT_RETRY_STATUSES = frozenset({429, 500, 503})


@dataclass
class UpstreamResponse:
    """What came back from the provider (body already read)."""

    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    url: str


class UpstreamError(StatusException):
    """A failed provider call; ``retryable`` and ``retry_after`` drive the retry loop."""

    def __init__(self, reason: str, status: int, *, retryable: bool, retry_after: float | None = None,
                 upstream_status: int | None = None, too_large: bool = False) -> None:
        super().__init__(reason, status=status)
        self.retryable = retryable
        self.retry_after = retry_after
        self.upstream_status = upstream_status
        self.too_large = too_large


def to_rest_status(code: int) -> int:
    """Elasticsearch keeps an upstream status below 500 and answers 400 for 5xx."""
    return code if 100 <= code < 500 else 400


def provider_message(body: bytes) -> str | None:
    """The error message in a provider's error JSON (OpenAI, Cohere, Google, Anthropic, HF, watsonx, AWS ...)."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or None
    candidates: list[Any] = []
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            candidates += [err.get("message"), err.get("msg")]
        # OAuth ("error_description") and IBM IAM ("errorMessage") say more than their "error" code
        candidates += [data.get("error_description"), data.get("errorMessage"), err, data.get("message"),
                       data.get("Message"), data.get("detail"), data.get("error_message")]
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            candidates.append(errors[0].get("message"))
        detail = data.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            candidates.append(detail[0].get("msg"))
    for c in candidates:
        if isinstance(c, str) and c:
            return c
    return None


def _message(prefix: str, inference_id: str, status: int, detail: str | None) -> str:
    base = f"{prefix} for request from inference entity id [{inference_id}] status [{status}]"
    return f"{base}. Error message: [{detail}]" if detail else base


def _duration(text: str) -> float | None:
    """OpenAI's reset durations: "1s", "6m0s", "20ms", "1h2m3.5s"."""
    total, matched = 0.0, False
    for number, unit in re.findall(r"([\d.]+)(ms|h|m|s)", text):
        matched = True
        total += float(number) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    return total if matched else None


def retry_after_seconds(headers: dict[str, str], now: float | None = None) -> float | None:
    """How long the provider asks us to wait, from the headers it documents; None when it says nothing."""
    now = time.time() if now is None else now
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if "," in value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    waits = [_duration(headers[f"x-ratelimit-reset-{kind}"]) for kind in ("requests", "tokens")
             if headers.get(f"x-ratelimit-remaining-{kind}") == "0" and f"x-ratelimit-reset-{kind}" in headers]
    if any(w is not None for w in waits):
        return max(w for w in waits if w is not None)
    reset = headers.get("anthropic-ratelimit-requests-reset")
    if reset and headers.get("anthropic-ratelimit-requests-remaining") == "0":
        try:
            return max(0.0, datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - now)
        except ValueError:
            return None
    return None


def body_retry_delay(body: bytes) -> float | None:
    """Google's ``google.rpc.RetryInfo`` in an error body (``{"error": {"details": [{"@type": ".../RetryInfo",
    "retryDelay": "37s"}]}}``): the Gemini API and Vertex AI say how long to wait there, not in a header."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            match = re.fullmatch(r"(\d+(?:\.\d+)?)s", delay) if isinstance(delay, str) else None
            if match:
                return float(match.group(1))
    return None


def _rate_limit_prefix(headers: dict[str, str]) -> str:
    if not any(h.startswith("x-ratelimit-") for h in headers):
        return RATE_LIMIT

    def get(name: str) -> str:
        return headers.get(name, "unknown")

    token_limit, request_limit = get("x-ratelimit-limit-tokens"), get("x-ratelimit-limit-requests")
    remaining_tokens, remaining_requests = get("x-ratelimit-remaining-tokens"), get("x-ratelimit-remaining-requests")
    if token_limit == "unknown" and request_limit == "unknown":
        return f"{RATE_LIMIT}. Remaining tokens [{remaining_tokens}]. Remaining requests [{remaining_requests}]."
    return (
        f"{RATE_LIMIT}. Token limit [{token_limit}], remaining tokens [{remaining_tokens}]. "
        f"Request limit [{request_limit}], remaining requests [{remaining_requests}]"
    )


def _retry_after(resp: UpstreamResponse) -> float | None:
    from_headers = retry_after_seconds(resp.headers)
    if from_headers is not None or resp.status != 429:
        return from_headers
    return body_retry_delay(resp.body)


def classify(inference_id: str, resp: UpstreamResponse, retry_statuses: frozenset[int]) -> UpstreamError:
    """The Elasticsearch error for a non-2xx response, marked retryable or not."""
    status = resp.status
    detail = provider_message(resp.body)
    too_large = status == 413 or (
        status == 400 and detail is not None and "Please reduce your prompt; or completion length." in detail
    )
    if status == 429:
        prefix = _rate_limit_prefix(resp.headers)
    elif status == 503:
        prefix = SERVER_BUSY
    elif status >= 500:
        prefix = SERVER_ERROR
    elif too_large:
        prefix = CONTENT_TOO_LARGE
    elif status == 401:
        prefix = AUTHENTICATION
    elif status == 403:
        prefix = PERMISSION_DENIED
    elif status == 404:
        prefix = f"Resource not found at [{resp.url}]"
    elif status == 400:
        prefix = BAD_REQUEST
    elif 300 <= status < 400:
        prefix = REDIRECTION
    else:
        prefix = UNSUCCESSFUL
    return UpstreamError(
        _message(prefix, inference_id, status, detail),
        to_rest_status(status),
        retryable=status in retry_statuses,
        retry_after=_retry_after(resp),
        upstream_status=status,
        too_large=too_large,
    )


def connection_error(inference_id: str, url: str, exc: Exception) -> UpstreamError:
    """A transport failure (refused, reset, closed early, read timeout): retried like a 503."""
    kind = type(exc).__name__
    return UpstreamError(
        f"Failed to send request from inference entity id [{inference_id}] to [{url}]: {kind}",
        400,
        retryable=True,
    )


def parse_error(inference_id: str, what: str) -> UpstreamError:
    """A 2xx response whose body is not what the provider documents (Elasticsearch retries these)."""
    return UpstreamError(
        f"Failed to parse the response for request from inference entity id [{inference_id}]: {what}",
        400,
        retryable=True,
    )


def format_time_value(seconds: float) -> str:
    """Elasticsearch's ``TimeValue`` rendering: 30s, 500ms, 1.5m, 2h."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds >= 1:
        return f"{seconds:g}s"
    return f"{round(seconds * 1000):d}ms"


def timeout_error(timeout_s: float) -> ElasticsearchError:
    """The error when the call's ``timeout`` elapses before any attempt could be sent or completed."""
    return ElasticsearchTimeoutException(
        f"Request timed out waiting to be sent after [{format_time_value(timeout_s)}]"
    )
