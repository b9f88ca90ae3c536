"""Rate limiting with Elasticsearch's semantics: no bursts, groups across endpoints, bounded queue, deadlines."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingest.models.errors import ElasticsearchError, ElasticsearchTimeoutException, RejectedExecutionException
from ingest.models.services.base import InferenceRequest
from ingest.models.services.remote import transport as transport_mod
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer
from tests.remote.conftest import endpoint

KEY = "sk-ratelimit-key-0123456789"
OTHER_KEY = "sk-ratelimit-other-0123456789"


def make(server: FakeServer, rpm: int, key: str = KEY, inference_id: str = "rl", model: str = "m"):
    return endpoint("openai", "text_embedding",
                    {"api_key": key, "model_id": model, "url": server.url + "/v1/embeddings",
                     "rate_limit": {"requests_per_minute": rpm}}, inference_id=inference_id)


class TwoKeys:
    """An OpenAI fake that accepts two keys."""

    def __init__(self) -> None:
        self.fakes = {KEY: FakeOpenAI(KEY), OTHER_KEY: FakeOpenAI(OTHER_KEY)}

    def __call__(self, request):
        token = request.headers.get("authorization", "")[7:]
        return self.fakes.get(token, self.fakes[KEY])(request)


def run_parallel(calls, n_threads: int = 8):
    with ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(c) for c in calls]
        out = []
        for f in futures:
            try:
                out.append(f.result())
            except ElasticsearchError as exc:
                out.append(exc)
        return out


def test_no_bursts_and_one_bucket_per_group_not_per_endpoint():
    with FakeServer(TwoKeys()) as server:
        svc, a = make(server, 600, inference_id="a", model="group-test")
        _, b = make(server, 600, inference_id="b", model="group-test")
        calls = [lambda e=e: svc.infer(e, InferenceRequest(["x"])) for e in [a, b] * 3]
        run_parallel(calls)
        times = sorted(r.received_at for r in server.requests)
        gaps = [t2 - t1 for t1, t2 in itertools.pairwise(times)]
        # 600 rpm = one request per 100 ms, shared by both endpoints; a bucket of one token allows no burst
        assert len(times) == 6 and times[-1] - times[0] >= 0.45 and min(gaps) >= 0.04, gaps
        server.requests.clear()
        # other credentials form another group: the two groups run side by side
        _, c = make(server, 600, key=OTHER_KEY, inference_id="c", model="group-test-2")
        _, d = make(server, 600, inference_id="d", model="group-test-3")
        start = time.monotonic()
        run_parallel([lambda: svc.infer(c, InferenceRequest(["x"])), lambda: svc.infer(d, InferenceRequest(["y"]))])
        assert time.monotonic() - start < 0.09


def test_full_queue_is_rejected_with_429():
    with FakeServer(FakeOpenAI(KEY)) as server:
        transport_mod.configure(queue_capacity=2)
        svc, config = make(server, 60, model="queue-test")
        results = run_parallel([lambda: svc.infer(config, InferenceRequest(["x"], timeout_s=3)) for _ in range(6)])
        rejected = [r for r in results if isinstance(r, RejectedExecutionException)]
        assert len(rejected) >= 3
        assert rejected[0].status == 429 and rejected[0].error_type == "es_rejected_execution_exception"
        assert rejected[0].reason == ("Failed to execute task for inference id [rl] because the request service "
                                      "[openai:queue-test] queue is full")


def test_requests_that_cannot_get_a_slot_before_their_timeout_fail_fast():
    with FakeServer(FakeOpenAI(KEY)) as server:
        svc, config = make(server, 60, model="timeout-test")
        svc.infer(config, InferenceRequest(["x"]))
        start = time.monotonic()
        with pytest.raises(ElasticsearchTimeoutException) as info:
            svc.infer(config, InferenceRequest(["x"], timeout_s=0.3))
        assert time.monotonic() - start < 0.3
        assert info.value.reason == "Request timed out waiting to be sent after [300ms]"


def test_updated_rate_applies_to_the_group():
    with FakeServer(FakeOpenAI(KEY)) as server:
        svc, slow = make(server, 60, model="update-test")
        svc.infer(slow, InferenceRequest(["x"]))
        _, fast = make(server, 60000, model="update-test")  # e.g. after _update of rate_limit
        time.sleep(1.0)  # the 1/min slot reserved by the first call has passed
        start = time.monotonic()
        for _ in range(3):
            svc.infer(fast, InferenceRequest(["x"]))
        assert time.monotonic() - start < 1.0  # at the old 60 rpm these three would take 2 s


def test_slow_provider_still_reaches_the_rate_limit():
    """Little's law: at 0.3 s latency, 6000 rpm needs ~30 requests in flight."""
    with FakeServer(FakeOpenAI(KEY), latency_s=0.3) as server:
        svc, config = make(server, 6000, model="littles-law")
        start = time.monotonic()
        run_parallel([lambda: svc.infer(config, InferenceRequest(["x"])) for _ in range(40)], n_threads=40)
        elapsed = time.monotonic() - start
        assert len(server.requests) == 40
        assert server.max_in_flight >= 15  # one at a time would take 12 s
        assert elapsed < 6.0
