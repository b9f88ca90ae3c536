"""A throttling HTTP proxy on 127.0.0.1 in front of a real cluster.

For ``_bulk`` requests it rejects every third item with Elasticsearch's 429 item error *without forwarding
it*, forwards the others, and merges the cluster's answers back in order: a client that does not retry the
rejected items loses them. ``go_away()`` closes the listening socket (clients get connection refused) and
``come_back()`` listens again on the same port, as a restarting cluster does. ``overload_mget(n)`` answers the
next ``n`` ``_mget`` requests with Elasticsearch's 503 (an overloaded or recovering cluster) without forwarding.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

REJECTED = {
    "type": "es_rejected_execution_exception",
    "reason": "rejected execution of coordinating operation [throttling proxy]",
}


class ThrottlingProxy:
    """Start with ``start()``; ``url`` is what clients use."""

    def __init__(self, upstream: str, reject_every: int = 3) -> None:
        self.upstream = upstream.rstrip("/")
        self.reject_every = reject_every
        self.rejected = 0
        self.forwarded_items = 0
        self.bulk_requests = 0
        self.refused_while_away = False
        self.mget_overloads = 0  # _mget requests still to answer with 503
        self.mget_refused = 0
        self._counter = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60)
        self._server: ThreadingHTTPServer | None = None
        self._conns: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the proxy."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThrottlingProxy:
        """Listen (on a free port the first time, on the same port afterwards)."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._conns.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._conns.discard(self.connection)
                super().finish()

            def _handle(self) -> None:
                if proxy._server is None:  # gone away: drop the request like a dead node
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = proxy.forward(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def go_away(self) -> None:
        """Stop listening: connections are refused until ``come_back``."""
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:  # keep-alive connections die with the node too
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def come_back(self) -> None:
        """Listen again on the same port."""
        self.start()

    def close(self) -> None:
        """Stop and release the upstream client."""
        self.go_away()
        self._client.close()

    def overload_mget(self, count: int) -> None:
        """Answer the next ``count`` ``_mget`` requests with 503 ``unavailable_shards_exception``."""
        with self._lock:
            self.mget_overloads = count

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Forward one request, throttling bulk items (and ``_mget`` requests when told to)."""
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept", "authorization")}
        if path.split("?")[0].endswith("/_mget"):
            with self._lock:
                refuse = self.mget_overloads > 0
                if refuse:
                    self.mget_overloads -= 1
                    self.mget_refused += 1
            if refuse:
                error = {"type": "unavailable_shards_exception", "reason": "primary shard is not active [proxy]"}
                payload = json.dumps({"error": {**error, "root_cause": [error]}, "status": 503}).encode()
                return 503, {"content-type": "application/json"}, payload
        if method in ("POST", "PUT") and path.split("?")[0].endswith("/_bulk"):
            return self._bulk(path, keep, body)
        resp = self._client.request(method, self.upstream + path, headers=keep, content=body)
        out = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "x-elastic-product")}
        return resp.status_code, out, resp.content

    def _bulk(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        lines = [ln for ln in body.split(b"\n") if ln.strip()]
        actions: list[list[bytes]] = []
        i = 0
        while i < len(lines):
            action = json.loads(lines[i])
            op = next(iter(action))
            n = 1 if op == "delete" else 2
            actions.append(lines[i : i + n])
            i += n
        with self._lock:
            self.bulk_requests += 1
            verdicts = []
            for _ in actions:
                self._counter += 1
                verdicts.append(self.reject_every > 0 and self._counter % self.reject_every == 0)
        passed = [a for a, rejected in zip(actions, verdicts, strict=True) if not rejected]
        upstream_items: list[dict[str, Any]] = []
        if passed:
            payload = b"\n".join(b"\n".join(a) for a in passed) + b"\n"
            resp = self._client.post(self.upstream + path, headers=headers, content=payload)
            if resp.status_code != 200:
                return resp.status_code, {"content-type": "application/json"}, resp.content
            upstream_items = resp.json()["items"]
        items, it = [], iter(upstream_items)
        for action, rejected in zip(actions, verdicts, strict=True):
            op, meta = next(iter(json.loads(action[0]).items()))
            if rejected:
                items.append({op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429, "error": REJECTED}})
            else:
                items.append(next(it))
        with self._lock:
            self.rejected += sum(verdicts)
            self.forwarded_items += len(passed)
        merged = {"took": 1, "errors": any("error" in next(iter(x.values())) for x in items), "items": items}
        return 200, {"content-type": "application/json"}, json.dumps(merged).encode()
