"""The shared HTTP layer: one event loop thread, one pooled ``httpx.AsyncClient``, rate limits, retries.

Why an event loop: to reach a provider's rate limit when it is slow, the number of requests in flight must be
``rate × latency`` (Little's law) — 50 req/s at 2 s latency is 100 concurrent requests. Coroutines make that
cheap; the synchronous :class:`~ingest.models.services.base.InferenceService` methods submit work to the loop and wait.
``MAX_IN_FLIGHT`` bounds the connection pool (enough for 250 req/s at 2 s).

Retries follow Elasticsearch's ``RetrySettings`` (initial delay 1 s, max delay 5 s) with jitter, honour
``Retry-After`` / ``retry-after-ms`` / reset headers, and stop at the request's deadline (its ``timeout``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import queue
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx

from ingest.models.errors import ElasticsearchError, ElasticsearchTimeoutException
from ingest.models.services.remote.errors import (
    UpstreamError,
    UpstreamResponse,
    classify,
    connection_error,
    parse_error,
    timeout_error,
)
from ingest.models.services.remote.ratelimit import QUEUE_CAPACITY, RateLimiters, RateLimitGroup
from ingest.models.services.remote.secret import scrub_error

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 512


@dataclass
class RetrySettings:
    """Elasticsearch's ``xpack.inference.http.retry.*`` and request-executor settings (node-level knobs)."""

    initial_delay_s: float = 1.0
    max_delay_s: float = 5.0
    queue_capacity: int = QUEUE_CAPACITY

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped at ``max_delay_s``."""
        cap = min(self.max_delay_s, self.initial_delay_s * (2.0**attempt))
        return cap / 2 + random.uniform(0, cap / 2)


SETTINGS = RetrySettings()


def configure(*, initial_delay_s: float | None = None, max_delay_s: float | None = None,
              queue_capacity: int | None = None) -> None:
    """Change the node-level retry and queue settings (as ``xpack.inference.http.*`` does in Elasticsearch)."""
    if initial_delay_s is not None:
        SETTINGS.initial_delay_s = initial_delay_s
    if max_delay_s is not None:
        SETTINGS.max_delay_s = max_delay_s
    if queue_capacity is not None:
        SETTINGS.queue_capacity = queue_capacity


@dataclass
class HttpCall:
    """One request to a provider. The body is serialised once so that signatures cover the exact bytes."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None

    def body(self) -> bytes | None:
        """The request body bytes (JSON bodies compact, UTF-8)."""
        if self.content is None and self.json is not None:
            self.content = json.dumps(self.json, separators=(",", ":"), ensure_ascii=False).encode()
            self.headers.setdefault("Content-Type", "application/json")
        return self.content


@dataclass
class CallContext:
    """Everything the retry loop needs about the call it serves."""

    inference_id: str
    group: RateLimitGroup
    deadline: float  # time.monotonic()
    timeout_s: float
    retry_statuses: frozenset[int]
    secrets: list[str]

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline - time.monotonic()


class _RedactQuery(logging.Filter):
    """httpx logs each URL at INFO; query strings may carry credentials (custom service), so drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(re.sub(r"\?\S*", "?[redacted]", str(a)) if isinstance(a, httpx.URL | str) else a
                                for a in (record.args if isinstance(record.args, tuple) else (record.args,)))
        return True


logging.getLogger("httpx").addFilter(_RedactQuery())


class Transport:
    """The process-wide loop thread, HTTP client and rate-limit groups."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.limiters = RateLimiters()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=128),
                timeout=None,
                follow_redirects=False,
            )
            started.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="ingest-remote-http", daemon=True)
        self._thread.start()
        started.wait()

    def submit(self, coro: Awaitable[T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def run(self, coro: Awaitable[T], timeout_s: float) -> T:
        """Run ``coro`` and wait for it; the deadline inside the coroutine normally fires first."""
        future = self.submit(coro)
        try:
            return future.result(timeout=timeout_s + 5.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise timeout_error(timeout_s) from None
        except BaseException:
            future.cancel()
            raise

    async def send(self, ctx: CallContext, build: Callable[[], Awaitable[HttpCall]],
                   parse: Callable[[UpstreamResponse], T]) -> T:
        """Send one request under the group's rate limit and parse it, retrying what is retryable.

        Besides the statuses the provider marks retryable, a 2xx body that does not parse (malformed or
        truncated JSON) is retried, as Elasticsearch does; ``parse`` raises a non-retryable
        :class:`UpstreamError` for answers that are well-formed but wrong (e.g. wrong dimensions).
        """
        attempt = 0
        while True:
            response = await self._attempts(ctx, build, stream=False)
            assert isinstance(response, UpstreamResponse)
            try:
                return parse(response)
            except UpstreamError as exc:
                error: UpstreamError = exc
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
                error = parse_error(ctx.inference_id, f"{type(exc).__name__}: {str(exc)[:200]}")
            scrub_error(error, ctx.secrets)
            delay = SETTINGS.backoff(attempt)
            if not error.retryable or delay >= ctx.remaining():
                raise error
            await asyncio.sleep(delay)
            attempt += 1

    async def open_stream(self, ctx: CallContext, build: Callable[[], Awaitable[HttpCall]]) -> httpx.Response:
        """Open a streaming response (2xx); failures before the first byte are retried like any request."""
        response = await self._attempts(ctx, build, stream=True)
        assert isinstance(response, httpx.Response)
        return response

    async def _attempts(self, ctx: CallContext, build: Callable[[], Awaitable[HttpCall]],
                        stream: bool) -> UpstreamResponse | httpx.Response:
        attempt = 0
        last: ElasticsearchError | None = None
        while True:
            try:
                await ctx.group.acquire(ctx.inference_id, ctx.deadline, ctx.timeout_s, SETTINGS.queue_capacity)
            except ElasticsearchTimeoutException:
                raise (last or timeout_error(ctx.timeout_s)) from None
            call = await build()
            error = await self._one_attempt(ctx, call, stream)
            if not isinstance(error, ElasticsearchError):
                return error
            last = scrub_error(error, ctx.secrets)
            retryable = isinstance(error, UpstreamError) and error.retryable
            if not retryable:
                raise last
            assert isinstance(error, UpstreamError)
            if error.upstream_status == 429 and error.retry_after:
                ctx.group.pause_until(time.monotonic() + error.retry_after)
            delay = error.retry_after if error.retry_after is not None else SETTINGS.backoff(attempt)
            if delay >= ctx.remaining():
                raise last
            log.debug("retrying request for inference id [%s] in %.2fs: %s", ctx.inference_id, delay, last.reason)
            await asyncio.sleep(delay)
            attempt += 1

    async def _one_attempt(self, ctx: CallContext, call: HttpCall,
                           stream: bool) -> UpstreamResponse | httpx.Response | ElasticsearchError:
        remaining = ctx.remaining()
        if remaining <= 0:
            return timeout_error(ctx.timeout_s)
        url = call.url.split("?", 1)[0]
        request = self.client.build_request(call.method, call.url, headers=call.headers, content=call.body(),
                                            params=call.params, timeout=httpx.Timeout(remaining))
        try:
            # httpx's timeouts bound each connect/read/write; the deadline bounds the whole attempt
            async with asyncio.timeout(remaining):
                resp = await self.client.send(request, stream=True)
                if stream and 200 <= resp.status_code < 300:
                    return resp
                try:
                    body = await resp.aread()
                finally:
                    await resp.aclose()
        except (httpx.TimeoutException, TimeoutError) as exc:
            return timeout_error(ctx.timeout_s) if ctx.remaining() <= 0.01 else connection_error(ctx.inference_id, url, exc)
        except httpx.HTTPError as exc:
            return connection_error(ctx.inference_id, url, exc)
        upstream = UpstreamResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, body, url)
        if 200 <= resp.status_code < 300:
            return upstream
        return classify(ctx.inference_id, upstream, ctx.retry_statuses)


_TRANSPORT: Transport | None = None
_LOCK = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child has no loop thread: it starts its own transport (and rate-limit groups) on first use.
    global _TRANSPORT, _LOCK
    _TRANSPORT = None
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def transport() -> Transport:
    """The process-wide transport, started on first use."""
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is None:
            _TRANSPORT = Transport()
        return _TRANSPORT


class StreamIterator(Iterator[T]):
    """A blocking iterator over an async generator running on the loop.

    :meth:`close` may be called from any thread, even while another thread is blocked in ``next()``: it
    cancels the coroutine (closing the upstream connection) and wakes the blocked reader.
    """

    def __init__(self, agen: Callable[[], AsyncIterator[T]], first_timeout_s: float) -> None:
        self._items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._timeout_s = first_timeout_s
        self._closed = False
        items = self._items

        async def pump() -> None:
            try:
                async for item in agen():
                    items.put(("item", item))
                items.put(("done", None))
            except asyncio.CancelledError:
                items.put(("done", None))
                raise
            except BaseException as exc:  # handed to the consumer thread
                items.put(("error", exc))

        self._future = transport().submit(pump())

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            kind, value = self._items.get(timeout=self._timeout_s + 5.0)
        except queue.Empty:
            self.close()
            raise timeout_error(self._timeout_s) from None
        if kind == "item":
            return cast(T, value)  # the queue holds the items of this iterator
        self._closed = True
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop: cancel the upstream request; a reader blocked in ``next()`` returns at once."""
        self._closed = True
        self._future.cancel()
        self._items.put(("done", None))

    def __del__(self) -> None:
        self._future.cancel()


def iterate(agen: Callable[[], AsyncIterator[T]], first_timeout_s: float) -> StreamIterator[T]:
    """Relay an async generator running on the loop as a blocking, closable iterator."""
    return StreamIterator(agen, first_timeout_s)
