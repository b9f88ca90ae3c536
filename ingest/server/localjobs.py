"""Jobs of the home's CLI run inside the server (``POST /_ingest_local/job``, issue 14 item 4).

While ``ingest serve`` owns the home's store, ``ingest run`` of a file hands the whole job to the server
(``ingest.jobs.served``): the server opens the file and runs the job as ``ingest run`` alone would —
``run_job`` with the server's own store as the sink, so documents never cross a socket — and streams the
job's progress and summary back as NDJSON events. One thread per job; the job's checkpoints, dead letters and
pipelines are the home's, as for a job alone.

A job ends early when its client goes away (Ctrl-C, SIGTERM or SIGKILL of the CLI: the stream's disconnect
sets the job's ``cancel``), exactly as an interrupted job alone does: acknowledged batches stay, the checkpoint
is where ``--resume`` goes on from. A job id runs once at a time: a second request for it waits for a cancelled
run to wind down (up to 15 s); while the first still has its client, it answers 409.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.models.jsonparse import loads

if TYPE_CHECKING:
    from ingest.jobs.config import JobConfig
    from ingest.server.destination import Destination

PROGRESS_EVERY_S = 1.0  # also how soon a vanished client is noticed: a line is written at least this often
WAIT_FOR_CANCELLED_S = 15.0  # a re-run of a job id waits this long for its cancelled run to stop
DISCONNECT_GRACE_S = 2.0  # and this long for a running one's client to be seen gone, before a 409


def parse_spec(body: bytes, streamed: bool = False) -> tuple[JobConfig, str]:
    """``(config, source_path)`` of a request body; a 400 for anything else. ``streamed``: the spec of a job
    whose source is the rest of the request body (standard input: no ``source_path``, ``"-"`` is returned)."""
    from ingest.jobs.config import JobConfig

    spec = loads(body)  # malformed JSON: Elasticsearch's 400
    names = {f.name for f in fields(JobConfig)}
    spec = spec if isinstance(spec, dict) else {}
    config, path = spec.get("config"), spec.get("source_path")
    if streamed:
        if not isinstance(config, dict) or config.get("source") != "-":
            raise IllegalArgumentException("not a streamed job: expected {\"config\": {\"source\": \"-\", ...}}")
        path = "-"
    if not isinstance(config, dict) or not isinstance(path, str) or not path:
        raise IllegalArgumentException("not a job: expected {\"config\": {...}, \"source_path\": \"...\"}")
    url = path.startswith(("http://", "https://", "kafka://"))  # an index or topic (credentials: never echoed)
    if not streamed and not url and not os.path.isabs(path):  # the server's working folder is not the CLI's
        raise IllegalArgumentException(f"not a job: [source_path] must be absolute, got [{path}]")
    unknown = sorted(set(config) - names)
    if unknown:
        raise IllegalArgumentException(f"not a job: unknown options {unknown}")
    try:
        return JobConfig(**config), path
    except TypeError as exc:
        raise IllegalArgumentException(f"not a job: {exc}") from None


def error_event(exc: BaseException) -> dict[str, Any]:
    """The ``error`` event of a failed job: Elasticsearch's error body, and the sentence of a stopped budget."""
    from ingest.jobs.budget import TooManyErrors

    body = exc.to_dict() if isinstance(exc, ElasticsearchError) else {
        "error": {"type": type(exc).__name__, "reason": str(exc)}, "status": 500}
    if isinstance(exc, TooManyErrors):
        body["reason_line"] = exc.reason
    return {"event": "error", **body}


class ServedJob:
    """One job running in the server: its thread, its events (``None`` ends them), and its ``cancel``."""

    def __init__(self, config: JobConfig, source_path: str, dest: Destination,
                 stream: Iterable[bytes] | None = None) -> None:
        self.config, self.source_path, self.dest, self.stream = config, source_path, dest, stream
        self.source: Any = None  # once opened: ``stop_reading`` asks a streaming source (Kafka) to end
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._last = 0.0

    def start(self) -> None:
        """Run the job on a thread of its own."""
        threading.Thread(target=self._run, name=f"ingest-served-job-{self.config.resolved_job_id()}",
                         daemon=True).start()

    def _run(self) -> None:
        from ingest.jobs.runner import run_job
        from ingest.sources import open_source

        try:
            streamed = {} if self.stream is None else {"stream": self.stream}  # standard input of the CLI
            source = self.source = open_source(self.source_path, **self.config.source_options, **streamed)
            try:
                summary = run_job(self.config, source=source, sink=self.dest.sink(), reporter=self,
                                  context=self.dest.context, cancel=self.cancel)
            finally:
                source.close()
            self.events.put({"event": "summary", **summary.to_dict()})
        except Exception as exc:
            self.events.put(error_event(exc))
        finally:
            self.done.set()
            self.events.put(None)
            self.dest.snapshots().touch(self.config.index)  # the analysts' copy, once the index is quiet

    def stop_reading(self) -> bool:
        """Ask a streaming source to end (Kafka: in-flight batches acknowledged, offsets committed, then the job
        ends normally), as SIGTERM does to a job alone; False when the source has no such stop."""
        stop = getattr(self.source, "stop", None)
        if stop is None:
            return False
        stop()
        return True

    # the job's Reporter: progress at most every PROGRESS_EVERY_S; the summary is sent once run_job returned
    def update(self, counts: dict[str, Any]) -> None:
        """A progress event, unless one went out less than ``PROGRESS_EVERY_S`` ago."""
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.events.put({"event": "progress", **counts})

    def finish(self, summary: dict[str, Any]) -> None:
        """Nothing here: the summary (or the error) is the last event, after ``run_job`` returns."""


class LocalJobs:
    """The jobs this server runs for the home's CLI, by job id (one app's; ``app.state.local_jobs``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, ServedJob] = {}

    def start(self, config: JobConfig, source_path: str, dest: Destination,
              stream: Iterable[bytes] | None = None) -> ServedJob:
        """Start the job (called on a worker thread: it may wait for a cancelled run of the same id); ``stream``:
        the lines of a streamed source (``ingest.server.streamjob``)."""
        job_id = config.resolved_job_id()
        deadline, grace = time.monotonic() + WAIT_FOR_CANCELLED_S, time.monotonic() + DISCONNECT_GRACE_S
        while True:
            with self._lock:
                for gone in [k for k, v in self._running.items() if v.done.is_set()]:
                    del self._running[gone]
                old = self._running.get(job_id)
                if old is None:
                    job = ServedJob(config, source_path, dest, stream)
                    self._running[job_id] = job
                    job.start()
                    return job
            # a run whose client went away stops within moments: wait for it; a run still streaming is a 409
            # (after a grace while the disconnect of a just-killed client is noticed)
            if time.monotonic() >= deadline or (not old.cancel.is_set() and time.monotonic() >= grace):
                raise ElasticsearchError(f"job [{job_id}] is already running on this server", status=409,
                                         error_type="illegal_state_exception")
            old.done.wait(0.2)

    def stop_reading(self, job_id: str) -> bool:
        """``ServedJob.stop_reading`` of the running job ``job_id``; False when there is none to stop."""
        with self._lock:
            job = self._running.get(job_id)
        return job is not None and not job.done.is_set() and job.stop_reading()

    def cancel_all(self) -> None:
        """Stop every running job (the server is shutting down)."""
        with self._lock:
            jobs = list(self._running.values())
        for job in jobs:
            job.cancel.set()


def event_line(event: dict[str, Any]) -> bytes:
    """One NDJSON line of the stream."""
    return json.dumps(event, default=str).encode() + b"\n"
