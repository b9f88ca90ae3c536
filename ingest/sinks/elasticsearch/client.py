"""Building an ``elasticsearch`` client that works with the server's major version."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import unquote, urlparse

from ingest.models.errors import ElasticsearchError


def split_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pass@host:port/...`` → (``http://host:port``, (user, pass)); credentials never logged."""
    parsed = urlparse(url)
    if not parsed.hostname:
        raise ElasticsearchError(f"invalid cluster URL [{parsed.scheme}://{parsed.netloc.rpartition('@')[2]}]", status=400,
                                 error_type="illegal_argument_exception")
    port = parsed.port or (443 if parsed.scheme == "https" else 9200)
    auth = (unquote(parsed.username), unquote(parsed.password or "")) if parsed.username else None
    return f"{parsed.scheme}://{parsed.hostname}:{port}", auth


def server_info(base: str, auth: tuple[str, str] | None, *, api_key: str | None = None, timeout_s: float = 30.0,
                verify_certs: bool = True) -> dict[str, Any]:
    """``GET /`` with plain HTTP (so detection works whatever the client versions)."""
    import base64
    import ssl

    headers = {"accept": "application/json"}
    if auth:
        headers["authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    if api_key:
        headers["authorization"] = f"ApiKey {api_key}"
    ctx = None
    if base.startswith("https") and not verify_certs:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    def get(path: str) -> Any:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=timeout_s,
                                    context=ctx) as resp:
            return json.loads(resp.read())

    try:
        try:
            body = get("/")
        except urllib.error.HTTPError as exc:
            # Distributions without the rest-root module (e.g. Elasticsearch's integ-test zip) have no GET /:
            # the local node's info carries the version too.
            if exc.code not in (404, 405):
                raise
            # (OpenSearch always serves GET /, so this is Elasticsearch.)
            nodes: dict[str, Any] = get("/_nodes/_local?filter_path=nodes.*.version").get("nodes") or {}
            number = str(next(iter(nodes.values())).get("version", "8.0.0")) if nodes else "8.0.0"
            body = {"version": {"number": number, "distribution": "elasticsearch"}}
    except urllib.error.HTTPError as exc:
        raise ElasticsearchError(f"GET / on {base} answered HTTP {exc.code}", status=exc.code) from None
    except (OSError, ValueError) as exc:
        raise ElasticsearchError(f"cluster at {base} is unavailable: {exc}", status=503, error_type="unavailable") from None
    return body if isinstance(body, dict) else {}


def connect(url: str, *, api_key: str | None, timeout_s: float, verify_certs: bool, major: int | None = None
            ) -> tuple[Any, int]:
    """An ``Elasticsearch`` client and the server's major version."""
    from elasticsearch import Elasticsearch

    base, auth = split_url(url)
    if major is None:
        info = server_info(base, auth, api_key=api_key, timeout_s=timeout_s, verify_certs=verify_certs)
        number = str((info.get("version") or {}).get("number", "8.0.0"))
        major = int(number.split(".")[0])
    kwargs: dict[str, Any] = {"request_timeout": timeout_s, "verify_certs": verify_certs, "max_retries": 0,
                              "retry_on_timeout": False}
    if auth:
        kwargs["basic_auth"] = auth
    if api_key:
        kwargs["api_key"] = api_key
    return Elasticsearch(base, **kwargs), major
