"""One deployment: ``allocations`` model sessions of ``threads`` threads each, a bounded queue, and the thread
that loads and releases sessions as :func:`models.deployments.scaling.decide` says.

Requests run on the caller's thread with a session it borrows, so there is no hand-off per request; only
loading and releasing sessions happens on the deployment's own thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from models.deployments.scaling import AllocationPolicy, Load, decide
from models.errors import ElasticsearchError, ModelError, RejectedExecutionException, StatusException
from models.results import InferenceResults, InputType

log = logging.getLogger(__name__)

DEFAULT_QUEUE_CAPACITY = 1024  # Elasticsearch's default queue_capacity for a deployment


class Session(Protocol):
    """What a deployment needs from a loaded model (``models.runtime.LocalModel`` satisfies it)."""

    def embed(self, texts: list[str], input_type: InputType | None = None) -> InferenceResults: ...

    def close(self) -> None: ...


@dataclass
class DeploymentCounters:
    """Cumulative request counters, as reported by the trained-model stats API."""

    inference_count: int = 0
    total_inference_ms: float = 0.0
    error_count: int = 0
    rejected_execution_count: int = 0
    timeout_count: int = 0
    last_access_ms: int | None = None
    peak_queued: int = 0


def format_seconds(seconds: float) -> str:
    """Elasticsearch's TimeValue rendering for whole seconds / milliseconds."""
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


class Deployment:
    """A running deployment of one model for one inference endpoint."""

    def __init__(
        self,
        deployment_id: str,
        model_id: str,
        loader: Callable[[int], Session],
        *,
        threads: int,
        policy: AllocationPolicy,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        capacity: int | None = None,
        tick_s: float | None = None,
    ) -> None:
        self.deployment_id = deployment_id
        self.model_id = model_id
        self.threads = threads
        self.queue_capacity = queue_capacity
        self.capacity = capacity or os.cpu_count() or 1
        self.start_time_ms = int(time.time() * 1000)
        self.counters = DeploymentCounters()
        self._loader = loader
        self._policy = policy
        self._tick_s = tick_s
        self._cond = threading.Condition()
        self._idle: list[Session] = []
        self._allocations = 0  # loaded sessions, idle or busy
        self._target = 0
        self._queued = 0
        self._waiting: deque[object] = deque()
        self._busy = 0
        self._last_active: float | None = None
        self._last_queued: float | None = None
        self._load_error: ElasticsearchError | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"deployment-{deployment_id}", daemon=True)
        self._thread.start()

    # -- public --------------------------------------------------------------------------------------

    @property
    def policy(self) -> AllocationPolicy:
        """The current allocation policy."""
        return self._policy

    def set_policy(self, policy: AllocationPolicy) -> None:
        """Change allocations (``_update``); the deployment converges on its own thread."""
        with self._cond:
            self._policy = policy
            self._cond.notify_all()

    def wait_started(self, timeout_s: float) -> None:
        """Block until one allocation is loaded (Elasticsearch's ``wait_for: started``); raise load errors."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._load_error = None
            self._target = max(self._target, 1, self._policy.min_allocations)
            self._last_active = time.monotonic()  # a fresh deployment stays warm for one idle period
            self._cond.notify_all()
            while self._allocations < 1:
                if self._load_error is not None:
                    raise self._load_error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StatusException(
                        f"Timed out after [{format_seconds(timeout_s)}] waiting for model deployment to start. "
                        "Use the trained model stats API to track the state of the deployment.",
                        status=408,
                    )
                self._cond.wait(remaining)

    def infer(self, texts: list[str], input_type: InputType | None, timeout_s: float) -> InferenceResults:
        """Run one request on a free allocation, waiting (within ``timeout_s``) for one to be free or loaded."""
        start = time.monotonic()
        deadline = start + timeout_s
        session = self._acquire(deadline, timeout_s)
        began = time.monotonic()
        ok = False
        try:
            result = session.embed(texts, input_type)
            ok = True
            return result
        finally:
            self._release(session, ok, (time.monotonic() - began) * 1000)

    def stop(self) -> None:
        """Stop the deployment and release every session."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        with self._cond:
            for s in self._idle:
                _close(s)
            self._idle.clear()
            self._allocations = 0

    def snapshot(self) -> dict[str, Any]:
        """Numbers for the stats API, read atomically."""
        with self._cond:
            return {
                "allocations": self._allocations,
                "target": self._target,
                "queued": self._queued,
                "busy": self._busy,
                "policy": self._policy,
                "counters": DeploymentCounters(**vars(self.counters)),
                "stopping": self._stopping,
                "load_error": self._load_error,
            }

    # -- request path --------------------------------------------------------------------------------

    def _acquire(self, deadline: float, timeout_s: float) -> Session:
        with self._cond:
            if self._stopping:
                raise StatusException(f"Trained model deployment [{self.deployment_id}] is stopping", status=409)
            now = time.monotonic()
            self._last_active = now
            if not self._idle or self._waiting:
                if len(self._waiting) >= self.queue_capacity:
                    self.counters.rejected_execution_count += 1
                    raise RejectedExecutionException(
                        f"Failed to execute task for inference id [{self.deployment_id}] because the request "
                        f"queue is full (queue_capacity [{self.queue_capacity}])"
                    )
                if self._allocations == 0:
                    self._load_error = None  # a new request retries a model that failed to load before
                ticket = object()
                self._waiting.append(ticket)  # first come, first served: no starvation under load
                self._queued = len(self._waiting)
                self.counters.peak_queued = max(self.counters.peak_queued, self._queued)
                self._last_queued = now
                self._cond.notify_all()  # wake the scaler: someone waits
                try:
                    while not (self._idle and self._waiting[0] is ticket):
                        if self._stopping:
                            raise StatusException(
                                f"Trained model deployment [{self.deployment_id}] is stopping", status=409
                            )
                        if self._load_error is not None and self._allocations == 0:
                            raise self._load_error
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            self.counters.timeout_count += 1
                            raise self._timeout(timeout_s)
                        self._cond.wait(remaining)
                finally:
                    self._waiting.remove(ticket)
                    self._queued = len(self._waiting)
                    self._last_queued = time.monotonic()
                    self._cond.notify_all()  # the next in line may be able to go now
            self._busy += 1
            return self._idle.pop()

    def _timeout(self, timeout_s: float) -> ElasticsearchError:
        if self._allocations == 0:
            return StatusException(
                f"Timed out after [{format_seconds(timeout_s)}] waiting for model deployment to start. "
                "Use the trained model stats API to track the state of the deployment.",
                status=408,
            )
        return StatusException(f"timeout [{format_seconds(timeout_s)}] waiting for inference result", status=408)

    def _release(self, session: Session, ok: bool, took_ms: float) -> None:
        with self._cond:
            self._busy -= 1
            self._last_active = time.monotonic()
            self._idle.append(session)
            if ok:
                self.counters.inference_count += 1
                self.counters.total_inference_ms += took_ms
            else:
                self.counters.error_count += 1
            self.counters.last_access_ms = int(time.time() * 1000)
            self._cond.notify_all()

    # -- allocation thread ---------------------------------------------------------------------------

    def _load(self) -> Load:
        return Load(
            now=time.monotonic(), queued=self._queued, busy=self._busy,
            last_active=self._last_active, last_queued=self._last_queued,
        )

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                target = decide(self._target, self._policy, self._load(), self.capacity)
                # Requests still queued while a session sits idle are about to take it (they were just woken):
                # scaling up for them would double every cold start (and keep a CLI waiting at exit). Decide
                # again once they have.
                handing_over = bool(self._idle) and self._queued > 0 and self._allocations < target
                if not handing_over:
                    self._target = target
                if handing_over or self._allocations >= self._target or (self._load_error and self._queued == 0):
                    while self._allocations > self._target and self._idle:
                        _close(self._idle.pop())  # frees the model's memory once the last one goes
                        self._allocations -= 1
                    tick = self._tick_s or max(0.05, min(1.0, self._policy.scale_down_after_s / 4))
                    self._cond.wait(tick)
                    continue
            self._load_one()

    def _load_one(self) -> None:
        try:
            session = self._loader(self.threads)
        except ElasticsearchError as exc:
            error: ElasticsearchError | None = exc
        except Exception as exc:  # a loader bug must reach the waiting requests, not kill this thread
            log.exception("loading model [%s] failed", self.model_id)
            error = ModelError(f"Could not load model [{self.model_id}]: {exc}")
        else:
            error = None
        with self._cond:
            if error is not None:
                self._load_error = error
                self._target = self._allocations
                self._cond.notify_all()
                self._cond.wait(1.0)  # do not spin on a model that cannot load
                return
            self._load_error = None
            if self._stopping:
                _close(session)
                return
            self._idle.append(session)
            self._allocations += 1
            self._cond.notify_all()


def _close(session: Session) -> None:
    with contextlib.suppress(Exception):
        session.close()
