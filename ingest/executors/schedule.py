"""The rate-limit schedule shared by every worker of a Ray job (held by one small named actor).

Same semantics as ``ingest.models.services.remote.ratelimit`` (a no-burst GCRA: requests of a group leave exactly
``60/rpm`` seconds apart once a queue forms), but the slots are booked here, in one place, so N workers together
send at the provider's limit instead of N times it. Slots are wall-clock times (``time.time()``) because the
workers run on other machines whose monotonic clocks mean nothing here; the wait handed back is relative.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class SharedSchedule:
    """Next free slot per rate-limit group. Plain class; the executor wraps it in a Ray actor."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._next: dict[str, float] = {}
        self.booked = 0

    def reserve(self, key: str, requests_per_minute: int, max_wait_s: float) -> float | None:
        """Book the group's next slot: the seconds to wait for it, or None when it is further than ``max_wait_s``."""
        now = self._clock()
        slot = max(now, self._next.get(key, 0.0))
        wait = slot - now
        if wait > max_wait_s:
            return None
        self._next[key] = slot + 60.0 / max(1, requests_per_minute)
        self.booked += 1
        return wait

    def stats(self) -> dict[str, int]:
        """How many slots were booked (for tests and the summary)."""
        return {"booked": self.booked, "groups": len(self._next)}


def reserve_through(actor: object) -> Callable[[str, int, float], float | None]:
    """A ``set_shared_limiter`` callback that books on the schedule actor (a Ray actor handle)."""
    import ray

    def reserve(key: str, rpm: int, max_wait_s: float) -> float | None:
        handle: Any = actor
        booked: float | None = ray.get(handle.reserve.remote(key, rpm, max_wait_s))
        return booked

    return reserve
