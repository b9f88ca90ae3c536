"""The deployment policy of an endpoint's service settings (``deployments.scaling.allocation_policy``)."""

from __future__ import annotations

from ingest.models.deployments.scaling import MAX_ALLOCATIONS, AllocationPolicy, allocation_policy


def test_fixed_allocations() -> None:
    assert allocation_policy({"num_allocations": 3, "num_threads": 1}, 60) == AllocationPolicy.fixed(3)


def test_adaptive_bounds_and_defaults() -> None:
    settings = {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0,
                                         "max_number_of_allocations": 4}}
    assert allocation_policy(settings, 60) == AllocationPolicy(True, 0, 4, 60)
    assert allocation_policy({"adaptive_allocations": {"enabled": True}}, 5) == AllocationPolicy(
        True, 0, MAX_ALLOCATIONS, 5)


def test_disabled_adaptive_takes_its_minimum_as_a_fixed_count() -> None:
    settings = {"adaptive_allocations": {"enabled": False, "min_number_of_allocations": 2}}
    assert allocation_policy(settings, 60) == AllocationPolicy.fixed(2)
    assert allocation_policy({"num_threads": 1}, 60) == AllocationPolicy.fixed(1)
