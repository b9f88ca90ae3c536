"""Adaptive allocations: the scaling decision as a pure function of observed load.

Kept free of threads and clocks so that every rule can be unit-tested with plain numbers; the deployment calls
:func:`decide` on every change of load and on a periodic tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SCALE_DOWN_AFTER_S = 300.0  # Elasticsearch waits 24 h before scaling to zero; a laptop wants minutes
MAX_ALLOCATIONS = 32  # the maximum of Elasticsearch's preconfigured adaptive endpoints


@dataclass(frozen=True)
class AllocationPolicy:
    """How many allocations a deployment may have.

    Fixed deployments have ``adaptive=False`` and ``min == max == num_allocations``.
    """

    adaptive: bool
    min_allocations: int
    max_allocations: int
    scale_down_after_s: float = DEFAULT_SCALE_DOWN_AFTER_S

    @classmethod
    def fixed(cls, num_allocations: int) -> AllocationPolicy:
        """A deployment with exactly ``num_allocations``."""
        return cls(adaptive=False, min_allocations=num_allocations, max_allocations=num_allocations)


def allocation_policy(service_settings: Mapping[str, object], scale_down_after_s: float) -> AllocationPolicy:
    """The deployment policy of an endpoint's validated service settings (``num_allocations`` or
    ``adaptive_allocations``; the service has checked their types and bounds)."""
    adaptive = service_settings.get("adaptive_allocations")
    bounds: Mapping[str, object] = adaptive if isinstance(adaptive, Mapping) else {}
    lowest, highest = bounds.get("min_number_of_allocations"), bounds.get("max_number_of_allocations")
    if bounds.get("enabled"):
        return AllocationPolicy(
            adaptive=True,
            min_allocations=lowest if isinstance(lowest, int) else 0,
            max_allocations=highest if isinstance(highest, int) else MAX_ALLOCATIONS,
            scale_down_after_s=scale_down_after_s,
        )
    fixed = service_settings.get("num_allocations") or lowest
    return AllocationPolicy.fixed(fixed if isinstance(fixed, int) and fixed > 0 else 1)


@dataclass(frozen=True)
class Load:
    """What the deployment observed at time ``now`` (seconds, any monotonic origin)."""

    now: float
    queued: int  # requests waiting for a free allocation
    busy: int  # allocations running a request
    last_active: float | None  # last time a request was queued or running (None: never)
    last_queued: float | None  # last time a request had to wait (None: never)


def decide(current: int, policy: AllocationPolicy, load: Load, capacity: int) -> int:
    """The number of allocations the deployment should have now.

    - Fixed deployments always get ``max_allocations``.
    - Scale up when requests wait: one more allocation per waiting request, at most ``max_allocations`` and at most
      ``capacity`` (the cores we may use), and never fewer than one while anything waits (scale from zero).
    - After ``scale_down_after_s`` with nothing waiting, shrink to what is busy (at least one while busy); after
      ``scale_down_after_s`` with nothing at all to do, shrink to ``min_allocations`` (0 frees the model's memory).
    """
    lo = policy.min_allocations
    hi = max(lo, min(policy.max_allocations, capacity)) if policy.adaptive else policy.max_allocations
    if not policy.adaptive:
        return hi
    current = min(max(current, lo), hi)
    if load.queued > 0:
        return min(hi, max(1, current + load.queued))
    idle_for = _since(load.now, load.last_active)
    if load.busy == 0 and idle_for >= policy.scale_down_after_s:
        return lo
    if _since(load.now, load.last_queued) >= policy.scale_down_after_s:
        return max(lo, min(current, max(load.busy, 1)))
    return current


def _since(now: float, then: float | None) -> float:
    return float("inf") if then is None else now - then
