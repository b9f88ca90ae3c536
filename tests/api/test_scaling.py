"""The adaptive-allocations decision, as numbers: no threads, no sleeps."""

from __future__ import annotations

from ingest.models.deployments.scaling import AllocationPolicy, Load, decide

ADAPTIVE = AllocationPolicy(adaptive=True, min_allocations=0, max_allocations=4, scale_down_after_s=60)


def load(now: float = 1000, queued: int = 0, busy: int = 0, active: float | None = None,
         queued_at: float | None = None) -> Load:
    return Load(now=now, queued=queued, busy=busy, last_active=active, last_queued=queued_at)


def test_fixed_deployment_ignores_load() -> None:
    policy = AllocationPolicy.fixed(3)
    assert decide(0, policy, load(queued=10), capacity=2) == 3
    assert decide(3, policy, load(), capacity=2) == 3


def test_scale_from_zero_when_a_request_waits() -> None:
    assert decide(0, ADAPTIVE, load(queued=1, active=1000, queued_at=1000), capacity=8) == 1


def test_scale_up_by_waiting_requests_capped_by_max_and_capacity() -> None:
    assert decide(1, ADAPTIVE, load(queued=2, busy=1, active=1000, queued_at=1000), capacity=8) == 3
    assert decide(1, ADAPTIVE, load(queued=50, busy=1, active=1000, queued_at=1000), capacity=8) == 4
    assert decide(1, ADAPTIVE, load(queued=50, busy=1, active=1000, queued_at=1000), capacity=2) == 2


def test_no_change_within_the_idle_period() -> None:
    assert decide(3, ADAPTIVE, load(now=1030, busy=0, active=1000, queued_at=1000), capacity=8) == 3


def test_shrink_to_busy_after_queue_free_period_then_to_min_when_idle() -> None:
    # requests still flowing but nobody waited for a minute: keep only what is busy
    assert decide(4, ADAPTIVE, load(now=1100, busy=2, active=1100, queued_at=1000), capacity=8) == 2
    # recently active but nothing in flight and nobody waited: keep one warm
    assert decide(4, ADAPTIVE, load(now=1100, busy=0, active=1090, queued_at=1000), capacity=8) == 1
    # idle for the whole period: down to the minimum, zero here
    assert decide(1, ADAPTIVE, load(now=1100, busy=0, active=1000, queued_at=900), capacity=8) == 0


def test_minimum_is_respected() -> None:
    policy = AllocationPolicy(adaptive=True, min_allocations=2, max_allocations=4, scale_down_after_s=60)
    assert decide(4, policy, load(now=5000, active=1000, queued_at=1000), capacity=8) == 2
    assert decide(0, policy, load(now=5000), capacity=8) == 2  # settings changed under a smaller deployment
    # the minimum wins over a smaller machine
    assert decide(2, policy, load(now=5000), capacity=1) == 2


def test_never_used_adaptive_deployment_rests_at_min() -> None:
    assert decide(1, ADAPTIVE, load(), capacity=8) == 0
