"""One deployment: ``allocations`` model sessions of ``threads`` threads each, one bounded priority queue in front
of them, and the thread that loads and releases sessions as :func:`ingest.models.deployments.scaling.decide` says.

As in Elasticsearch, a request is queued (or refused with 429 when ``queue_capacity`` requests already wait) the
moment it arrives, and the model work runs on the deployment's own threads, one per allocation: callers only wait
on a future, so an async server can hold thousands of requests without a thread each. Search-type requests are
served before ingest ones (Elasticsearch's high priority for ``input_type: search``). A ``low`` priority
deployment (one allocation of one thread, as Elasticsearch requires) runs its inference at the lowest OS
priority, as Elasticsearch runs a low-priority deployment's native process, so it yields the CPU to the others.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Protocol, TypedDict

import numpy as np

from ingest.models.deployments.counters import DeploymentCounters
from ingest.models.deployments.scaling import AllocationPolicy, Load, decide
from ingest.models.errors import ElasticsearchError, ModelError, RejectedExecutionException, StatusException
from ingest.models.results import InferenceResults, InputType

log = logging.getLogger(__name__)

DEFAULT_QUEUE_CAPACITY = 1024  # Elasticsearch's default queue_capacity for a deployment
QUEUE_FULL = "inference process queue is full. Unable to execute command"  # Elasticsearch's exact message
LOW_PRIORITY_NICE = 19  # the lowest CPU priority Linux gives


class Session(Protocol):
    """What a deployment needs from a loaded model (``ingest.models.runtime.LocalModel`` satisfies it)."""

    def embed(self, texts: list[str], input_type: InputType | None = None) -> InferenceResults: ...

    def rerank(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance score per text (cross-encoders only)."""
        ...

    def close(self) -> None: ...


Work = Callable[[Session], InferenceResults]  # what one request does with a session


class DeploymentSnapshot(TypedDict):
    """A deployment's state read atomically, for the stats API and the metrics."""

    allocations: int
    target: int
    queued: int
    busy: int
    policy: AllocationPolicy
    counters: DeploymentCounters
    stopping: bool
    load_error: ElasticsearchError | None


def format_seconds(seconds: float) -> str:
    """Elasticsearch's TimeValue rendering for whole seconds / milliseconds."""
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


@dataclass(order=True)
class _Request:
    rank: tuple[int, int]  # (priority, arrival): search first, then first come first served
    work: Work = field(compare=False)
    deadline: float = field(compare=False)
    timeout_s: float = field(compare=False)
    future: Future[InferenceResults] = field(compare=False, default_factory=Future)


class Deployment:
    """A running deployment of one model (one or more inference endpoints may use it)."""

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
        priority: str = "normal",
    ) -> None:
        self.deployment_id = deployment_id
        self.model_id = model_id
        self.threads = threads
        self.queue_capacity = queue_capacity
        self.priority = priority
        self.capacity = capacity or os.cpu_count() or 1
        self.start_time_ms = int(time.time() * 1000)
        self.counters = DeploymentCounters()
        self._loader = loader
        self._policy = policy
        self._tick_s = tick_s
        self._cond = threading.Condition()
        self._queue: list[_Request] = []  # a heap
        self._arrivals = itertools.count()
        self._allocations = 0  # loaded sessions, idle or busy
        self._target = 0
        self._busy = 0
        self._last_active: float | None = None
        self._last_queued: float | None = None
        self._load_error: ElasticsearchError | None = None
        self._stopping = False
        self._workers: list[threading.Thread] = []
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
                    raise _start_timeout(timeout_s)
                self._cond.wait(remaining)

    def submit(self, work: Work, timeout_s: float, *, search: bool = False) -> Future[InferenceResults]:
        """Queue one request; its future completes on a deployment thread (or with the request's error).

        Raises ``RejectedExecutionException`` (429) at once when ``queue_capacity`` requests already wait.
        """
        now = time.monotonic()
        request = _Request((0 if search else 1, next(self._arrivals)), work, now + timeout_s, timeout_s)
        with self._cond:
            if self._stopping:
                raise StatusException(f"Trained model deployment [{self.deployment_id}] is stopping", status=409)
            if len(self._queue) >= self.queue_capacity:
                self.counters.rejected_execution_count += 1
                raise RejectedExecutionException(QUEUE_FULL)
            if self._allocations == 0:
                self._load_error = None  # a new request retries a model that failed to load before
            heapq.heappush(self._queue, request)
            self._last_active = self._last_queued = now
            self.counters.peak_queued = max(self.counters.peak_queued, len(self._queue))
            self._cond.notify_all()  # a worker, or the scaler when nothing is loaded
        request.future.add_done_callback(lambda f: self._forget(request) if f.cancelled() else None)
        return request.future

    def infer(self, texts: list[str], input_type: InputType | None, timeout_s: float) -> InferenceResults:
        """Embed ``texts`` on a free allocation, waiting (within ``timeout_s``) in the queue; blocking."""
        search = input_type == InputType.SEARCH
        return self.wait(self.submit(lambda s: s.embed(texts, input_type), timeout_s, search=search), timeout_s)

    def wait(self, future: Future[InferenceResults], timeout_s: float) -> InferenceResults:
        """The result of a submitted request, blocking at most ``timeout_s`` (then 408, the request dropped)."""
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            raise self.expire(future, timeout_s) from None

    def expire(self, future: Future[InferenceResults], timeout_s: float) -> ElasticsearchError:
        """Give up on a request after ``timeout_s``: it leaves the queue (a running one's result is dropped),
        is counted as a timeout, and the 408 to raise is returned."""
        future.cancel()
        with self._cond:
            self.counters.timeout_count += 1
        return self.timeout_error(timeout_s)

    def timeout_error(self, timeout_s: float) -> ElasticsearchError:
        """The 408 of a request that waited ``timeout_s``: still starting, or waiting for a result."""
        if self._allocations == 0:
            return _start_timeout(timeout_s)
        return StatusException(f"timeout [{format_seconds(timeout_s)}] waiting for inference result", status=408)

    def stop(self) -> None:
        """Stop the deployment: queued requests fail with 409, sessions are released."""
        with self._cond:
            self._stopping = True
            dropped, self._queue = self._queue, []
            self._cond.notify_all()
        for request in dropped:
            _fail(request, StatusException(f"Trained model deployment [{self.deployment_id}] is stopping", status=409))
        self._thread.join(timeout=30)
        for worker in list(self._workers):
            worker.join(timeout=30)

    def snapshot(self) -> DeploymentSnapshot:
        """Numbers for the stats API, read atomically."""
        with self._cond:
            return {
                "allocations": self._allocations,
                "target": self._target,
                "queued": len(self._queue),
                "busy": self._busy,
                "policy": self._policy,
                "counters": self.counters.copy(),
                "stopping": self._stopping,
                "load_error": self._load_error,
            }

    # -- the allocations' threads --------------------------------------------------------------------

    def _forget(self, request: _Request) -> None:
        """A cancelled request leaves the queue at once, freeing its slot."""
        with self._cond, contextlib.suppress(ValueError):
            self._queue.remove(request)
            heapq.heapify(self._queue)

    def _serve(self, session: Session) -> None:
        """One allocation: take the next request, run it, until stopped or scaled down."""
        if self.priority == "low":
            _lower_priority()
        while True:
            with self._cond:
                while not self._queue:
                    if self._stopping or self._allocations > self._target:
                        self._allocations -= 1
                        self._cond.notify_all()
                        _close(session)  # frees the model's memory once the last one goes
                        return
                    self._cond.wait(self._tick())
                request = heapq.heappop(self._queue)
                if not request.future.set_running_or_notify_cancel():
                    continue
                if time.monotonic() > request.deadline:
                    self.counters.timeout_count += 1
                    request.future.set_exception(self.timeout_error(request.timeout_s))
                    continue
                self._busy += 1
                self._last_active = time.monotonic()
            began = time.monotonic()
            try:
                result = request.work(session)
            except BaseException as exc:
                error: BaseException | None = exc
            else:
                error = None
            took_ms = (time.monotonic() - began) * 1000
            with self._cond:
                self._busy -= 1
                self._last_active = time.monotonic()
                self.counters.record(took_ms, ok=error is None)
                self._cond.notify_all()
            if error is None:
                request.future.set_result(result)
            else:
                request.future.set_exception(error)

    def _tick(self) -> float:
        return self._tick_s or max(0.05, min(1.0, self._policy.scale_down_after_s / 4))

    def _load(self) -> Load:
        # Requests a free allocation is about to take do not ask for another one.
        waiting = max(0, len(self._queue) - (self._allocations - self._busy))
        return Load(
            now=time.monotonic(), queued=waiting, busy=self._busy,
            last_active=self._last_active, last_queued=self._last_queued,
        )

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._target = decide(self._target, self._policy, self._load(), self.capacity)
                if self._allocations >= self._target or (self._load_error and not self._queue):
                    self._cond.notify_all()  # idle workers above the target retire
                    self._cond.wait(self._tick())
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
        failed: list[_Request] = []
        with self._cond:
            if error is not None:
                self._load_error = error
                self._target = self._allocations
                if not self._allocations:  # nothing can serve the queued requests: they get the error
                    failed, self._queue = self._queue, []
                self._cond.notify_all()
            elif self._stopping:
                _close(session)
                return
            else:
                self._load_error = None
                self._allocations += 1
                worker = threading.Thread(target=self._serve, args=(session,), daemon=True,
                                          name=f"deployment-{self.deployment_id}-{self._allocations}")
                self._workers = [w for w in self._workers if w.is_alive()] + [worker]
                worker.start()
                self._cond.notify_all()
                return
        for request in failed:
            _fail(request, error or ModelError(f"Could not load model [{self.model_id}]"))
        with self._cond:
            self._cond.wait(1.0)  # do not spin on a model that cannot load


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux nice values are per thread; with one ONNX Runtime thread the
    model runs on the calling one). Where that is not possible the deployment still works, at normal priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY_NICE)
    except (OSError, AttributeError) as exc:
        log.warning("could not lower the priority of a low-priority deployment's thread: %s", exc)


def _start_timeout(timeout_s: float) -> StatusException:
    return StatusException(
        f"Timed out after [{format_seconds(timeout_s)}] waiting for model deployment to start. "
        "Use the trained model stats API to track the state of the deployment.",
        status=408,
    )


def _fail(request: _Request, error: BaseException) -> None:
    if request.future.set_running_or_notify_cancel():
        request.future.set_exception(error)


def _close(session: Session) -> None:
    with contextlib.suppress(Exception):
        session.close()
