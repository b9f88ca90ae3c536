"""Short-lived access tokens (Vertex AI service-account OAuth, watsonx IAM), cached until shortly before expiry.

One fetch per credentials at a time: concurrent requests wait for the same fetch instead of stampeding the
token endpoint. A failed exchange is reported like any upstream error of the endpoint.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable

import httpx

from ingest.models.services.remote.errors import UpstreamResponse, classify, connection_error
from ingest.models.services.remote.secret import fingerprint, scrub_error
from ingest.models.services.remote.transport import HttpCall, transport

_EARLY_S = 60.0  # refresh this long before the token expires


class TokenCache:
    """Tokens by credentials fingerprint."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        """A valid token for ``key``; ``fetch`` returns ``(token, expires_in_seconds)``."""
        cached = self._tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, expires_in = await fetch()
            self._tokens[key] = (token, time.monotonic() + max(0.0, expires_in - _EARLY_S))
            return token

    def invalidate(self, key: str) -> None:
        """Forget a token the provider rejected."""
        self._tokens.pop(key, None)


async def exchange(inference_id: str, call: HttpCall, secrets: list[str], timeout_s: float = 30.0) -> dict[str, object]:
    """POST a token request; the JSON answer, or the endpoint's upstream error (secrets scrubbed)."""
    client = transport().client
    url = call.url.split("?", 1)[0]
    try:
        resp = await client.request(call.method, call.url, headers=call.headers, content=call.body(),
                                    timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise connection_error(inference_id, url, exc) from None
    if resp.status_code >= 300:
        error = classify(inference_id, UpstreamResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                                                        resp.content, url), frozenset({429, 500, 503}))
        raise scrub_error(error, secrets)
    data = json.loads(resp.content)
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise ValueError("the token response has no access_token")
    return data


TOKENS = TokenCache()


async def client_credentials(inference_id: str, token_url: str, client_id: str, client_secret: str,
                             scopes: list[str]) -> str:
    """An OAuth 2.0 client-credentials access token (RFC 6749 §4.4), cached per client and scopes."""
    async def fetch() -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        if scopes:
            form["scope"] = " ".join(scopes)
        data = await exchange(inference_id, HttpCall(
            "POST", token_url, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            content=urllib.parse.urlencode(form).encode()), [client_secret])
        return str(data["access_token"]), float(str(data.get("expires_in", 3600)))

    return await TOKENS.get(fingerprint([token_url, client_id, client_secret, *scopes]), fetch)
