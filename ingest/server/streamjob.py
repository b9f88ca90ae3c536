"""A job whose source is its request body: ``ingest run --source -`` with the home's server running (issue 14).

``POST /_ingest_local/job/stream`` (``ingest.sinks.served.wire.JOB_STREAM_PATH``): the body's first line is the
job's spec, the rest is the CLI's standard input, forwarded as it arrives. The server starts the job (a
``StdinSource`` over :class:`BodyLines`), answers 200 at once, and streams the job's NDJSON events while the
body still comes in — one connection, both directions at the same time — so a job reading a slow pipe reports
progress and writes each micro-batch as a job alone does. The body is read only as fast as the job takes its
lines (a bounded queue: TCP pushes back on the CLI).

The client going away (its connection closing before the body's end) cancels the job, as for a file job: the
written batches stay, and the incomplete tail of the body is dropped (never a half line in the dead letters).
Standard input cannot be read twice, so such a job cannot be resumed by another run; the CLI says so.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.server.localjobs import PROGRESS_EVERY_S, event_line, parse_spec

if TYPE_CHECKING:
    from ingest.server.destination import Destination
    from ingest.server.localjobs import LocalJobs, ServedJob

MAX_SPEC_BYTES = 1 << 20  # the first line (the job's spec) is at most this long
QUEUE_CHUNKS = 64  # body chunks held for the job before the server stops reading the body


class BodyLines:
    """The lines of a request body, fed by the event loop (``offer``/``end``) and read by the job's source
    thread (iteration, blocking). Lines come without their newline; an aborted body drops its last, incomplete
    line and whatever was not read yet."""

    def __init__(self, depth: int = QUEUE_CHUNKS) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._depth = depth
        self._cond = threading.Condition()
        self._ended = self._aborted = False

    def offer(self, chunk: bytes) -> bool:
        """Queue a chunk; False (nothing queued) while the queue is full."""
        with self._cond:
            if len(self._chunks) >= self._depth:
                return False
            self._chunks.append(chunk)
            self._cond.notify()
            return True

    def end(self, aborted: bool = False) -> None:
        """The body ended (``aborted``: the client went away before its end)."""
        with self._cond:
            self._ended, self._aborted = True, aborted
            self._cond.notify()

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        while True:
            with self._cond:
                while not self._chunks and not self._ended:
                    self._cond.wait()
                if self._aborted:
                    return
                if not self._chunks:  # the body's end: a last line without its newline is still a line
                    if rest:
                        yield rest
                    return
                data = b"".join(self._chunks)
                self._chunks.clear()
            lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
            rest = lines.pop()
            yield from lines


class StreamedJobResponse(Response):
    """The ASGI answer of the streamed job route (called once the local client is authenticated): it reads the
    body itself, while it answers."""

    def __init__(self, jobs: LocalJobs, dest: Destination) -> None:
        super().__init__(media_type="application/x-ndjson")
        self.jobs, self.dest = jobs, dest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head, rest, state = await _first_line(receive)
        lines = BodyLines()
        try:
            if head is None:
                raise IllegalArgumentException("not a streamed job: the body has no first line (the job's spec)")
            config, path = parse_spec(head, streamed=True)
            if not self.dest.kind().capabilities.index_store:
                raise IllegalArgumentException(f"the [{self.dest.kind().name}] destination is not the home's store")
            job = await run_in_threadpool(self.jobs.start, config, path, self.dest, lines)
        except ElasticsearchError as exc:
            await JSONResponse(exc.to_dict(), status_code=exc.status, headers={"connection": "close"})(
                scope, receive, send)
            return
        if rest:
            lines.offer(rest)
        if state != "more":
            lines.end(aborted=state == "gone")
            if state == "gone":
                job.cancel.set()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-ndjson")]})
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_feed, receive, lines, job, state)
                await _send_events(send, job)
                group.cancel_scope.cancel()
        finally:
            job.cancel.set()  # however the answer ends (a finished job ignores it)
            lines.end(aborted=True)


async def _first_line(receive: Receive) -> tuple[bytes | None, bytes, str]:
    """``(spec line, the body after it, "more" | "ended" | "gone")``; no line when the body ends first."""
    buffer = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, b"", "gone"
        buffer += message.get("body", b"")
        more = message.get("more_body", False)
        head, newline, rest = buffer.partition(b"\n")
        if newline:
            return head, rest, "more" if more else "ended"
        if not more or len(buffer) > MAX_SPEC_BYTES:
            return None, b"", "ended" if not more else "more"


async def _feed(receive: Receive, lines: BodyLines, job: ServedJob, state: str) -> None:
    """The rest of the body into ``lines`` as the job takes it; then wait for the client to go (it cancels the
    job: a job still running lost its client)."""
    if state == "gone":
        return
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            job.cancel.set()
            lines.end(aborted=True)
            return
        if state != "more":
            continue
        chunk = message.get("body", b"")
        while chunk and not lines.offer(chunk):
            if job.done.is_set():  # the job failed and reads no more: the rest of the body is dropped
                break
            await asyncio.sleep(0.005)
        if not message.get("more_body", False):
            state = "ended"
            lines.end()


async def _send_events(send: Send, job: ServedJob) -> None:
    """The job's events, then the answer's end (the client's going is seen by ``_feed``)."""
    async for line in job_events(job, None):
        await send({"type": "http.response.body", "body": line, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def job_events(job: ServedJob, gone: Callable[[], Awaitable[bool]] | None) -> AsyncIterator[bytes]:
    """A served job's events as NDJSON lines as they come, and an ``alive`` line when none came for
    ``PROGRESS_EVERY_S`` (so a vanished client is noticed: ``gone`` is asked then, and ends the lines)."""
    last = time.monotonic()
    while True:
        try:
            event: dict[str, Any] | None = job.events.get_nowait()
        except queue.Empty:
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                if gone is not None and await gone():
                    return
                last = time.monotonic()
                yield event_line({"event": "alive"})
            await asyncio.sleep(0.02)
            continue
        if event is None:
            return
        last = time.monotonic()
        yield event_line(event)
