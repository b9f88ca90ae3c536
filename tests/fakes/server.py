"""A small threaded HTTP server on 127.0.0.1 that plays a provider, with faults injected on demand.

A provider fake is a callable ``(Recorded) -> Reply`` that checks the request as the provider would (path,
method, auth header, body schema) and raises :class:`Reject` with the provider's error body otherwise.
Faults (``server.faults``, consumed one per request, or ``server.random_faults`` with a probability) replace the
answer with a status + headers, a closed connection, or a malformed / truncated body.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """An answer: a body, or ``chunks`` written one by one (streaming) with ``chunk_delay_s`` between them."""

    status: int = 200
    body: Any = None  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None
    chunk_delay_s: float = 0.0


class Reject(Exception):
    """Raised by a provider fake to answer an invalid request with the provider's error."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.reply = Reply(status, body, headers or {})


@dataclass
class Fault:
    """``kind``: "status" (answer ``status``/``headers``/``body``), "close" (drop the connection),
    "truncated" (200 with half a JSON body), "malformed" (200 with a non-JSON body)."""

    kind: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0


class FakeServer:
    """The server; ``url`` is its base URL. Use as a context manager."""

    def __init__(self, handler: Callable[[Recorded], Reply], *, latency_s: float = 0.0,
                 rate_limit_rpm: int | None = None, rate_limit_burst: float = 5.0, seed: int = 0) -> None:
        self.handler = handler
        self.latency_s = latency_s
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        self.random_faults: list[Fault] = []
        self.random_fault_rate = 0.0
        self.rate_limit_rpm = rate_limit_rpm
        self.rate_limit_burst = rate_limit_burst
        self.rate_limited = 0  # requests answered 429 by the limiter (not by injected faults)
        self.disconnects = 0  # streaming clients that went away mid-stream
        self.in_flight = 0
        self.max_in_flight = 0  # most requests being answered at the same time
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._bucket_tokens = rate_limit_burst
        self._bucket_time = time.monotonic()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _over_limit(self) -> bool:
        """A provider-side token bucket at ``rate_limit_rpm`` holding ``rate_limit_burst`` requests."""
        if self.rate_limit_rpm is None:
            return False
        with self._lock:
            now = time.monotonic()
            rate = self.rate_limit_rpm / 60.0
            self._bucket_tokens = min(self.rate_limit_burst, self._bucket_tokens + (now - self._bucket_time) * rate)
            self._bucket_time = now
            if self._bucket_tokens < 1.0:
                self.rate_limited += 1
                return True
            self._bucket_tokens -= 1.0
            return False

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self.faults:
                return self.faults.popleft()
            if self.random_faults and self._random.random() < self.random_fault_rate:
                return self._random.choice(self.random_faults)
        return None

    def answer(self, request: Recorded) -> Reply | Fault:
        """What to send back for ``request``."""
        with self._lock:
            self.requests.append(request)
        fault = self._next_fault()
        if fault is not None:
            return fault
        if self._over_limit():
            return Reply(429, {"error": {"message": "Rate limit reached for requests", "type": "requests"}},
                         {"retry-after-ms": "100", "x-ratelimit-remaining-requests": "0"})
        try:
            return self.handler(request)
        except Reject as rejection:
            return rejection.reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qs(parts.query),
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.latency_s:
                        time.sleep(server.latency_s)
                    outcome = server.answer(recorded)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                if isinstance(outcome, Fault):
                    self._fault(outcome)
                else:
                    self._reply(outcome)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def _fault(self, fault: Fault) -> None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault.kind == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault.kind == "truncated":
                    self._reply(Reply(200, b'{"object": "list", "data": [{"index": 0, "embed'))
                elif fault.kind == "malformed":
                    self._reply(Reply(200, b"<html>Bad gateway</html>", {"content-type": "text/html"}))
                else:
                    body = fault.body if fault.body is not None else {"error": {"message": "injected failure"}}
                    self._reply(Reply(fault.status, body, fault.headers))

            def _reply(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is not None:
                    self._stream(reply)
                    return
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                if "content-type" not in {k.lower() for k in reply.headers}:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                if "content-type" not in {k.lower() for k in reply.headers}:
                    self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in reply.chunks or []:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.chunk_delay_s:
                            time.sleep(reply.chunk_delay_s)
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.disconnects += 1

        return Handler


def sse(events: list[Any], *, event_names: list[str] | None = None, done: bool = True) -> list[bytes]:
    """Server-sent-event frames for JSON payloads (optionally named), ending with ``data: [DONE]``."""
    frames = []
    for i, payload in enumerate(events):
        name = f"event: {event_names[i]}\n" if event_names else ""
        data = payload if isinstance(payload, str) else json.dumps(payload)
        frames.append(f"{name}data: {data}\n\n".encode())
    if done:
        frames.append(b"data: [DONE]\n\n")
    return frames


def bearer_key(request: Recorded) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    value = request.headers.get("authorization", "")
    return value[7:] if value[:7].lower() == "bearer " else None  # the scheme is case-insensitive


def deterministic_vector(text: str, dims: int) -> list[float]:
    """A vector that depends only on the text, so tests can check order."""
    rng = random.Random(text)
    return [round(rng.uniform(-1, 1), 6) for _ in range(dims)]


def iter_json_lines(chunks: list[bytes]) -> Iterator[Any]:
    """Helper for tests reading back SSE frames."""
    for chunk in chunks:
        for line in chunk.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                yield json.loads(line[6:])


def int8_vector(vector: list[float]) -> list[int]:
    """A float vector quantised to int8 the way providers' ``int8`` output is (scale to [-127, 127])."""
    return [round(x * 127) for x in vector]


def packed_bits(vector: list[float]) -> list[int]:
    """Providers' ``binary`` output: one bit per dimension (1 when positive), 8 per signed byte, MSB first."""
    out = []
    for start in range(0, len(vector), 8):
        byte = 0
        for x in vector[start:start + 8]:
            byte = (byte << 1) | (1 if x > 0 else 0)
        out.append(byte - 256 if byte > 127 else byte)
    return out
