"""Rate limiting with Elasticsearch's semantics (``RequestExecutorService``, ``RateLimiter``).

One limiter per *rate-limit group* — service + credentials fingerprint + model — shared by every endpoint in
the group. The bucket holds at most one token, so there are no bursts: requests leave exactly ``60/rpm``
seconds apart once a queue forms. This is implemented as a virtual schedule (GCRA): each request reserves the
next free slot and sleeps until it; a reservation that would fall after the request's deadline is refused
instead of wasting the slot. Requests waiting for a slot form the group's queue, bounded by
``QUEUE_CAPACITY`` (Elasticsearch's ``xpack.inference.http.request_executor.queue_capacity``, default 2000);
a full queue answers 429 ``es_rejected_execution_exception``.

Everything here runs on the single transport event loop, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.models.errors import RejectedExecutionException
from ingest.models.services.remote.errors import timeout_error

QUEUE_CAPACITY = 2000
_IDLE_EVICTION_S = 10 * 24 * 3600  # Elasticsearch drops groups unused for 10 days

# A schedule shared by several processes (the Ray executor installs one, backed by a Ray actor):
# ``reserve(group_key, requests_per_minute, max_wait_s)`` books the group's next slot across all processes and
# returns the seconds to wait for it, or None when it would come after ``max_wait_s`` (nothing is booked then).
SharedReserve = Callable[[str, int, float], "float | None"]
_shared_reserve: SharedReserve | None = None


def set_shared_limiter(reserve: SharedReserve | None) -> None:
    """Make every group of this process take its slots from ``reserve`` (None: back to per-process buckets)."""
    global _shared_reserve
    _shared_reserve = reserve


@dataclass
class RateLimitGroup:
    """The limiter of one group; ``label`` names it in errors and never contains a secret."""

    label: str
    requests_per_minute: int
    next_slot: float = 0.0
    waiting: int = 0
    last_used: float = field(default_factory=time.monotonic)
    shared_key: str = ""  # the group's key for a shared limiter (service|credentials fingerprint|model)

    @property
    def interval(self) -> float:
        """Seconds between two requests of this group."""
        return 60.0 / self.requests_per_minute

    async def acquire(self, inference_id: str, deadline: float, timeout_s: float, capacity: int) -> None:
        """Wait for this group's next slot; raise 429 when the queue is full or a timeout if it comes too late."""
        now = time.monotonic()
        self.last_used = now
        if capacity and self.waiting >= capacity:
            raise RejectedExecutionException(
                f"Failed to execute task for inference id [{inference_id}] because the request service "
                f"[{self.label}] queue is full"
            )
        if _shared_reserve is not None:
            await self._acquire_shared(_shared_reserve, inference_id, deadline, timeout_s)
            return
        slot = max(now, self.next_slot)
        if slot > deadline:
            raise timeout_error(timeout_s)
        self.next_slot = slot + self.interval
        if slot <= now:
            return
        self.waiting += 1
        try:
            await asyncio.sleep(slot - now)
        finally:
            self.waiting -= 1

    async def _acquire_shared(self, reserve: SharedReserve, inference_id: str, deadline: float,
                              timeout_s: float) -> None:
        # The booking is a blocking round trip to another process: run it off the event loop.
        self.waiting += 1
        try:
            pause = self.next_slot - time.monotonic()  # a local 429 pause (``pause_until``) still holds
            if pause > 0:
                await asyncio.sleep(pause)
            loop = asyncio.get_running_loop()
            wait = await loop.run_in_executor(None, reserve, self.shared_key or self.label,
                                              self.requests_per_minute, deadline - time.monotonic())
            if wait is None:
                raise timeout_error(timeout_s)
            if wait > 0:
                await asyncio.sleep(wait)
        finally:
            self.waiting -= 1

    def pause_until(self, when: float) -> None:
        """Hold the whole group back (the provider said the credentials are throttled until ``when``)."""
        self.next_slot = max(self.next_slot, when)


class RateLimiters:
    """The groups, created on first use and updated to the latest ``requests_per_minute`` of the group."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, ...], RateLimitGroup] = {}

    def group(self, key: tuple[str, ...], label: str, requests_per_minute: int) -> RateLimitGroup:
        """The group for ``key``; a changed rate (``_update``) applies to the next reservation."""
        now = time.monotonic()
        for stale in [k for k, g in self._groups.items() if now - g.last_used > _IDLE_EVICTION_S]:
            del self._groups[stale]
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = RateLimitGroup(label, requests_per_minute, shared_key="|".join(key))
        group.requests_per_minute = requests_per_minute
        return group
