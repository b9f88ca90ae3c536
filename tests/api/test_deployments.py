"""Deployments with the real tiny model: allocations, bounded queue, scale to zero and back, stats."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from ingest.models.cache import BuiltModel
from ingest.models.deployments import Deployment
from ingest.models.deployments.scaling import AllocationPolicy
from ingest.models.deployments.stats import deployment_stats
from ingest.models.errors import ModelError, RejectedExecutionException, StatusException
from ingest.models.results import InferenceResults, InputType, TextEmbeddingResults
from ingest.models.runtime import LocalModel
from tests.api.conftest import GatedModel


def test_fixed_deployment_serves_and_reports(tiny_dense: BuiltModel) -> None:
    d = Deployment("dep", "tiny", lambda t: LocalModel(tiny_dense, threads=t), threads=1,
                   policy=AllocationPolicy.fixed(2), tick_s=0.01)
    try:
        d.wait_started(10)
        out = d.infer(["hello world", "the cat"], None, 10)
        assert isinstance(out, TextEmbeddingResults)
        assert out.to_dict()["text_embedding"][0]["embedding"]
        assert np.allclose(np.linalg.norm(out.embeddings, axis=1), 1, atol=1e-4)
        deadline = time.monotonic() + 10
        while d.snapshot()["allocations"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = deployment_stats(d)
        assert stats["allocation_status"] == {"allocation_count": 2, "target_allocation_count": 2,
                                              "state": "fully_allocated"}
        assert stats["state"] == "started"
        assert stats["nodes"][0]["inference_count"] == 1
        assert stats["nodes"][0]["number_of_pending_requests"] == 0
        assert stats["queue_capacity"] == 1024
        assert "last_access" in stats["nodes"][0]
    finally:
        d.stop()


def test_full_queue_rejects_with_429(tiny_dense: BuiltModel, gate: threading.Event) -> None:
    entered = threading.Semaphore(0)
    d = Deployment("dep", "tiny", lambda t: GatedModel(tiny_dense, t, gate, entered), threads=1,
                   policy=AllocationPolicy.fixed(1), queue_capacity=1, tick_s=0.01)
    results: list[object] = []

    def call() -> None:
        try:
            results.append(d.infer(["a"], None, 10))
        except Exception as exc:
            results.append(exc)

    try:
        d.wait_started(10)
        busy = threading.Thread(target=call)
        busy.start()
        assert entered.acquire(timeout=10)  # the only allocation is now busy
        waiting = threading.Thread(target=call)
        waiting.start()
        deadline = time.monotonic() + 10
        while d.snapshot()["queued"] < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        with pytest.raises(RejectedExecutionException, match="queue is full"):
            d.infer(["b"], None, 10)
        assert deployment_stats(d)["nodes"][0]["number_of_pending_requests"] == 1
        gate.set()
        busy.join(10)
        waiting.join(10)
        assert len(results) == 2 and not any(isinstance(r, Exception) for r in results)
        assert deployment_stats(d)["rejected_execution_count"] == 1
    finally:
        d.stop()


def test_timeout_while_allocation_busy(tiny_dense: BuiltModel, gate: threading.Event) -> None:
    entered = threading.Semaphore(0)
    d = Deployment("dep", "tiny", lambda t: GatedModel(tiny_dense, t, gate, entered), threads=1,
                   policy=AllocationPolicy.fixed(1), tick_s=0.01)
    try:
        d.wait_started(10)
        threading.Thread(target=lambda: d.infer(["a"], None, 10)).start()
        assert entered.acquire(timeout=10)
        with pytest.raises(StatusException, match=r"timeout \[100ms\] waiting for inference result") as exc:
            d.infer(["b"], None, 0.1)
        assert exc.value.status == 408
    finally:
        gate.set()
        d.stop()


def test_scale_to_zero_releases_sessions_and_cold_start_waits(tiny_dense: BuiltModel) -> None:
    sessions: list[LocalModel] = []

    def loader(threads: int) -> LocalModel:
        model = LocalModel(tiny_dense, threads=threads)
        sessions.append(model)
        return model

    policy = AllocationPolicy(adaptive=True, min_allocations=0, max_allocations=2, scale_down_after_s=0.2)
    d = Deployment("dep", "tiny", loader, threads=1, policy=policy, tick_s=0.02)
    try:
        d.wait_started(10)
        d.infer(["hello"], None, 10)
        deadline = time.monotonic() + 10
        while d.snapshot()["allocations"] > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert d.snapshot()["allocations"] == 0
        with pytest.raises(ModelError):  # the session was closed: its memory is released
            sessions[0].embed(["x"])
        stats = deployment_stats(d)
        assert stats["allocation_status"]["allocation_count"] == 0
        assert stats["adaptive_allocations"]["min_number_of_allocations"] == 0
        # a request arriving now waits for the model instead of failing
        out = d.infer(["hello again"], None, 10)
        assert len(out) == 1
        assert len(sessions) == 2
    finally:
        d.stop()


def test_load_failure_reaches_the_caller(tiny_dense: BuiltModel) -> None:
    def loader(threads: int) -> LocalModel:
        raise ModelError("weights are missing: pip install something")

    d = Deployment("dep", "broken", loader, threads=1, policy=AllocationPolicy.fixed(1), tick_s=0.01)
    try:
        with pytest.raises(ModelError, match="weights are missing"):
            d.wait_started(5)
        with pytest.raises(ModelError, match="weights are missing"):
            d.infer(["a"], None, 5)
        assert deployment_stats(d)["state"] == "failed"
    finally:
        d.stop()


def test_search_requests_are_served_before_queued_ingest_ones(tiny_dense: BuiltModel, gate: threading.Event) -> None:
    entered = threading.Semaphore(0)
    served: list[str] = []

    class Recording(GatedModel):
        def embed(self, texts: list[str], input_type: object = None) -> TextEmbeddingResults:  # type: ignore[override]
            served.append(texts[0])
            return super().embed(texts, input_type)  # type: ignore[arg-type,return-value]

    d = Deployment("dep", "tiny", lambda t: Recording(tiny_dense, t, gate, entered), threads=1,
                   policy=AllocationPolicy.fixed(1), tick_s=0.01)
    try:
        d.wait_started(10)
        first = d.submit(lambda s: s.embed(["running"], InputType.INGEST), 10)
        assert entered.acquire(timeout=10)  # the only allocation is busy: the rest queue
        later = [d.submit(lambda s, t=t: s.embed([t], InputType.INGEST), 10) for t in ("ingest-1", "ingest-2")]
        search = d.submit(lambda s: s.embed(["search"], InputType.SEARCH), 10, search=True)
        assert d.snapshot()["queued"] == 3
        gate.set()
        for f in (first, *later, search):
            f.result(10)
        assert served == ["running", "search", "ingest-1", "ingest-2"]
    finally:
        gate.set()


def test_a_cold_request_loads_one_allocation_not_two(tiny_dense: BuiltModel) -> None:
    """The scaler used to see the request still queued right after loading its session, and load a second one
    (seconds of work a one-shot CLI then had to wait for, or abort in, at exit)."""
    loads: list[float] = []

    def slow_loader(threads: int) -> LocalModel:
        loads.append(time.monotonic())
        time.sleep(0.3)
        return LocalModel(tiny_dense, threads=threads)

    policy = AllocationPolicy(adaptive=True, min_allocations=0, max_allocations=4, scale_down_after_s=60)
    d = Deployment("dep", "tiny", slow_loader, threads=1, policy=policy, capacity=4, tick_s=0.01)
    try:
        d.infer(["hello"], None, 30)
        time.sleep(1.0)  # time enough for a needless second load to start
        assert len(loads) == 1
        assert d.snapshot()["allocations"] == 1
    finally:
        d.stop()


class _PriorityProbe:
    """The tiny model, noting the CPU priority (nice) of the thread each request runs on."""

    def __init__(self, model: BuiltModel, threads: int, seen: list[int]) -> None:
        self.inner, self.seen = LocalModel(model, threads=threads), seen

    def embed(self, texts: list[str], input_type: InputType | None = None) -> InferenceResults:
        import os

        self.seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return self.inner.embed(texts, input_type)

    def rerank(self, query: str, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("priority", ["normal", "low"])
def test_low_priority_deployments_run_at_the_lowest_cpu_priority(tiny_dense: BuiltModel, priority: str) -> None:
    import os

    from ingest.models.deployments.deployment import LOW_PRIORITY_NICE

    seen: list[int] = []
    d = Deployment("dep", "tiny", lambda t: _PriorityProbe(tiny_dense, t, seen), threads=1,
                   policy=AllocationPolicy.fixed(1), tick_s=0.01, priority=priority)
    try:
        d.wait_started(10)
        d.infer(["hello world"], None, 10)
        own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert seen == ([LOW_PRIORITY_NICE] if priority == "low" else [own])
        assert own != LOW_PRIORITY_NICE  # the caller's thread (and the process) keep theirs
    finally:
        d.stop()
