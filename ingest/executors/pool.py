"""Elasticsearch deployment settings → a Ray Data actor pool (a pure function, no Ray needed).

An allocation in Elasticsearch is one copy of the model serving one request at a time with ``num_threads``
threads. On Ray an allocation is one pool actor: it loads the model once and asks for ``num_threads`` CPUs, so
Ray places no more allocations on a node than it has cores for. ``adaptive_allocations {min, max}`` becomes the
pool's autoscaling range; Ray cannot scale a pool to zero while the job runs, so a minimum of 0 becomes 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LOCAL_SERVICES = frozenset({"elasticsearch", "elser"})
MAX_ALLOCATIONS = 32  # Elasticsearch's bound on max_number_of_allocations


@dataclass(frozen=True)
class PoolSpec:
    """Size range and per-actor CPUs of a ``map_batches`` actor pool."""

    min_size: int
    max_size: int
    num_cpus: float

    @property
    def concurrency(self) -> int | tuple[int, int]:
        """``map_batches(concurrency=...)``: ``n`` for a fixed pool, ``(min, max)`` for an autoscaling one
        (the executor passes the same range as ``ActorPoolStrategy(min_size, max_size)``, its newer spelling)."""
        return self.min_size if self.min_size == self.max_size else (self.min_size, self.max_size)


def pool_for(service_settings: dict[str, Any]) -> PoolSpec:
    """The pool of one local-model endpoint's ``service_settings`` (as stored, i.e. already validated)."""
    threads = int(service_settings.get("num_threads") or 1)
    adaptive = service_settings.get("adaptive_allocations") or {}
    if adaptive.get("enabled"):
        lo = int(adaptive.get("min_number_of_allocations") or 0)
        hi = int(adaptive.get("max_number_of_allocations") or MAX_ALLOCATIONS)
        lo = max(1, lo)
        return PoolSpec(lo, max(lo, hi), float(threads))
    count = int(service_settings.get("num_allocations") or adaptive.get("min_number_of_allocations") or 1)
    return PoolSpec(count, count, float(threads))


def pool_for_endpoints(endpoints: Iterable[tuple[str, dict[str, Any]]], *, default: PoolSpec) -> PoolSpec:
    """The pool of a pipeline given its endpoints as ``(service, service_settings)``.

    Each actor runs the whole pipeline, so it loads every local model the pipeline uses: the pool takes the
    largest range and thread count among them. A pipeline without a local model (remote providers only, or no
    inference) gets ``default``: its work is waiting on the network and on the sink, not on local cores.
    """
    pools = [pool_for(settings) for service, settings in endpoints if service in LOCAL_SERVICES]
    if not pools:
        return default
    return PoolSpec(max(p.min_size for p in pools), max(p.max_size for p in pools), max(p.num_cpus for p in pools))


def parse_concurrency(text: str) -> PoolSpec:
    """``--concurrency N`` or ``MIN,MAX`` for pipelines without a local model (one CPU per actor)."""
    from ingest.models.errors import IllegalArgumentException

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1 or values[0] > values[-1]:
        raise IllegalArgumentException(
            f"[concurrency] must be a positive integer N or MIN,MAX with MIN <= MAX, got [{text}]"
        )
    return PoolSpec(values[0], values[-1], 1.0)


def check_fits(pool: PoolSpec, node_cpus: list[float]) -> None:
    """Refuse a pool Ray could never start, rather than wait for it forever: an allocation wider than every
    node, or more minimum allocations than the nodes have room for. (Ray Data fuses the read into the pool's
    actors, so the reads need no CPUs of their own.)"""
    from ingest.models.errors import IllegalArgumentException

    widest = max(node_cpus, default=0.0)
    if pool.num_cpus > widest:
        raise IllegalArgumentException(
            f"[num_threads] is [{pool.num_cpus:g}] but no node of the Ray cluster has more than [{widest:g}] CPUs; "
            "lower num_threads or add larger nodes"
        )
    fit = sum(int(c // pool.num_cpus) for c in node_cpus)
    if pool.min_size > fit:
        raise IllegalArgumentException(
            f"the Ray cluster has room for [{fit}] allocations of [{pool.num_cpus:g}] threads (nodes with "
            f"{[f'{c:g}' for c in node_cpus]} CPUs), not [{pool.min_size}]; lower num_allocations / "
            "min_number_of_allocations or add nodes"
        )
