"""``ingest run`` of a file while the home's server runs: the server runs the whole job (issue 14 item 4).

The CLI posts the job (its ``JobConfig`` and the source file's absolute path) to the server's local-only
``POST /_ingest_local/job`` (``ingest.server.localjobs``), relays the streamed progress to its reporter and
returns the server's summary, so the user sees what a job alone prints and exits alike. ``--source -`` goes
the same way, its standard input forwarded as the request body (``stream_to_server``). The documents never
cross a socket: the server reads the file and writes its store itself, as fast as a job alone.

When the server goes away mid-job (killed, restarted), the job's acknowledged documents are in the store and its
checkpoint says how far: the CLI waits for the home's server to be back (``unavailable_timeout_s``) and posts the
job again with ``resume``, counting each such repeat in ``requests_retried`` (not standard input, which cannot be
read again: that job fails with the count it wrote). An index's URL (``ingest reindex``) and a Kafka topic are
opened by the server too (the CLI's SIGTERM stops a Kafka job gracefully there: ``ServerStop``); the
batch-by-batch path (``ingest.sinks.served``) remains for older servers, HTTPS standard input and other runners.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.pipelinespec import PIPELINE_SUFFIXES
from ingest.jobs.progress import Reporter
from ingest.jobs.stages import backoff_s
from ingest.models.errors import ElasticsearchError
from ingest.sinks.cluster.sink import error_from_body
from ingest.sinks.served.sink import Locate, connect_local
from ingest.sinks.served.wire import JOB_PATH, JOB_STOP_PATH, JOB_STREAM_PATH


class _ServerGone(Exception):
    """The stream ended before the job's summary (the server died or restarted)."""


def server_can_run(config: JobConfig) -> bool:
    """Whether the server can open the job's source as the CLI names it: a file, folder or glob, an index's
    ``http(s)://`` URL (reindex) or a ``kafka://`` topic; not standard input (``stream_to_server``)."""
    return config.source != "-" and ("://" not in config.source or is_url(config.source))


def is_url(source: str) -> bool:
    """Whether ``source`` is an index to reindex from (``http(s)://[user:pass@]host:port/index``) or a Kafka
    topic: the server opens it by that name."""
    return source.startswith(("http://", "https://", "kafka://"))


class ServerStop:
    """What ``stop_on_signals`` calls on the CLI's SIGTERM/SIGINT while the server runs a Kafka job: the
    server stops the job's consumer gracefully (in-flight batches acknowledged, offsets committed, the job
    ends normally), as the signal does to a job alone. A second signal interrupts (the server cancels)."""

    def __init__(self, job_id: str, locate: Locate) -> None:
        self.job_id, self.locate = job_id, locate

    def stop(self) -> None:
        """Ask the server to stop the job's source; nothing when it cannot be reached."""
        found = self.locate()
        if found is None:
            return
        try:
            conn = connect_local(found[0], 30)
            try:
                conn.request("POST", JOB_STOP_PATH, body=json.dumps({"job_id": self.job_id}).encode(),
                             headers={"authorization": f"ApiKey {found[1]}", "content-type": "application/json"})
                conn.getresponse().read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            pass


def run_on_server(config: JobConfig, locate: Locate, reporter: Reporter,
                  sleep: Callable[[float], None] = time.sleep, source_spec: str | None = None) -> JobSummary | None:
    """The job run by the home's server (``locate`` finds it, again after a restart); None when that server
    has no job route (an older one: run the job here instead). ``source_spec``: the source as the user gave it,
    when the config's is redacted (a Kafka URL's passwords)."""
    if isinstance(config.pipeline, str) and Path(config.pipeline).suffix.lower() in PIPELINE_SUFFIXES \
            and Path(config.pipeline).is_file():
        # the server reads the pipeline file from its own working folder: name it absolutely (the job id stays)
        config.job_id, config.pipeline = config.resolved_job_id(), os.path.abspath(config.pipeline)
    # the config keeps the source as given (checkpoints compare it); a URL's credentials go only to the server,
    # on the local-token request from loopback, as the CLI's own job would use them
    given = source_spec or config.source
    source_path = given if is_url(given) else os.path.abspath(given)
    resume, repeats, since = config.resume, 0, None
    while True:
        found = locate()
        if found is not None:
            try:
                summary = _post(found, {"config": {**config.describe(), "resume": resume},
                                        "source_path": source_path}, reporter, config.unavailable_timeout_s)
                if summary is not None:
                    summary.requests_retried += repeats
                return summary
            except _ServerGone as gone:
                # once the server started the job, its checkpoint is this run's: go on from it
                resume = resume or gone.args[0]
                since = None
        since = since or time.monotonic()
        if time.monotonic() - since > config.unavailable_timeout_s:
            raise ElasticsearchError(
                f"the home's server went away during job [{config.resolved_job_id()}] and did not come back; "
                f"continue with: --resume --job-id {config.resolved_job_id()}", status=503, error_type="unavailable")
        repeats += 1
        sleep(backoff_s(min(repeats, 6), config))


def _post(at: tuple[str, str], spec: dict[str, Any], reporter: Reporter, timeout_s: float) -> JobSummary | None:
    url, token = at
    started = False
    try:
        conn = connect_local(url, timeout_s)
        try:
            conn.request("POST", JOB_PATH, body=json.dumps(spec).encode(), headers={
                "authorization": f"ApiKey {token}", "content-type": "application/json",
                "accept": "application/x-ndjson"})
            resp = conn.getresponse()
            if resp.status == 404:
                return None
            if resp.status >= 300:
                raw = resp.read()
                body = json.loads(raw) if raw.startswith(b"{") else raw.decode(errors="replace")
                if resp.status not in (401, 503):
                    raise error_from_body(resp.status, body, f"POST {JOB_PATH}")
                raise _ServerGone(False)  # a server restarting on another port/token: find it again
            seen: dict[str, Any] = {}
            summary = _read_events(resp, reporter, seen)
            if summary is not None:
                return summary
            started = bool(seen)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        pass
    raise _ServerGone(started)


def _read_events(resp: http.client.HTTPResponse, reporter: Reporter, seen: dict[str, Any]) -> JobSummary | None:
    """Relay the job's events to ``reporter`` until its summary (returned) or error (raised); None when the
    stream ended before either. ``seen`` keeps the counts of the last progress event."""
    while line := resp.readline():
        event = json.loads(line)
        kind = event.pop("event", None)
        if kind == "progress":  # sent from the job's run: its checkpoint is this run's from now on
            seen.clear()
            seen.update(event)
            reporter.update(event)
        elif kind == "summary":
            reporter.finish(event)
            return _summary(event)
        elif kind == "error":
            raise _error(event)
    return None


def stream_to_server(config: JobConfig, locate: Locate, reporter: Reporter, stdin: IO[bytes]) -> JobSummary | None:
    """The job of ``--source -`` run by the home's server, which reads this process's standard input as it is
    forwarded (``JOB_STREAM_PATH``); None when there is no such server or route (the caller sends batches) —
    standard input is not read before the server accepted the job. A server going away mid-job fails it (503):
    what it wrote stays, but the input it had read is gone and cannot be read again."""
    found = locate()
    if found is None or found[0].startswith("https:"):
        # one TLS connection is not written and read by two threads at once: batches, over their own requests
        return None
    url, token = found
    conn = connect_local(url, config.unavailable_timeout_s)
    seen: dict[str, Any] = {}
    try:
        try:
            conn.putrequest("POST", JOB_STREAM_PATH)
            for name, value in (("authorization", f"ApiKey {token}"), ("content-type", "application/x-ndjson"),
                                ("accept", "application/x-ndjson"), ("transfer-encoding", "chunked")):
                conn.putheader(name, value)
            conn.endheaders()
            sock = conn.sock
            sock.sendall(_chunk(json.dumps({"config": config.describe()}).encode() + b"\n"))
            resp = conn.getresponse()
            if resp.status == 404:
                return None
            if resp.status >= 300:
                raw = resp.read()
                raise error_from_body(resp.status, json.loads(raw) if raw.startswith(b"{") else
                                      raw.decode(errors="replace"), f"POST {JOB_STREAM_PATH}")
            threading.Thread(target=_forward, args=(stdin, sock), daemon=True, name="ingest-stdin-forward").start()
            summary = _read_events(resp, reporter, seen)
            if summary is not None:
                return summary
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        pass
    written = int(seen.get("indexed", 0))
    raise ElasticsearchError(
        f"the home's server went away during job [{config.resolved_job_id()}], which reads standard input: "
        f"{written} document(s) were written (as of its last progress report), and the input it had read "
        "cannot be read again; run the job again with the rest of the input", status=503, error_type="unavailable")


def _chunk(data: bytes) -> bytes:
    return b"%X\r\n%b\r\n" % (len(data), data)


def _forward(stdin: IO[bytes], sock: socket.socket) -> None:
    """Standard input to the request body, chunk by chunk as it arrives (a pipe's writes are not held back),
    then the body's end. The server gone, the job's events say so: this thread just stops."""
    try:  # the file descriptor, not the buffered reader: a daemon thread blocked in the reader's lock aborts
        fd = stdin.fileno()  # the interpreter's exit ("could not acquire lock ... at interpreter shutdown")
        read: Callable[[int], bytes] = lambda size: os.read(fd, size)  # noqa: E731
    except (OSError, ValueError, AttributeError):
        read = getattr(stdin, "read1", stdin.read)
    try:
        while data := read(1 << 20):
            sock.sendall(_chunk(data))
        sock.sendall(b"0\r\n\r\n")
    except (OSError, ValueError):
        pass


def _summary(event: dict[str, Any]) -> JobSummary:
    names = {f.name for f in fields(JobSummary)}
    return JobSummary(**{k: v for k, v in event.items() if k in names})


def _error(event: dict[str, Any]) -> ElasticsearchError:
    """The job's failure as the CLI reports a job alone's."""
    from ingest.jobs.budget import TooManyErrors

    if isinstance(event.get("reason_line"), str):
        return TooManyErrors(event["reason_line"])
    return error_from_body(int(event.get("status", 500)), event, "the job")
