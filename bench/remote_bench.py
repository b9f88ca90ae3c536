"""Remote-service benchmark against the fake OpenAI server (``python -m bench.remote_bench``).

1. Throughput: the fake answers in 100 ms and enforces 3,000 requests/min; callers embed batches of 16 texts
   from several threads for ``--duration`` seconds. Printed: requests/s and embeddings/s as a fraction of the
   rate-limit bound (target ≥ 0.95).
2. Faults: the same with 10% of requests answered 429 (``retry-after-ms``) or 503. Checked: no input lost and
   every vector in input order; the fraction is printed (each failed attempt uses a slot of the limit too).
3. Client CPU per 1,000 embeddings (1,536 dims) for float JSON vs base64 responses, measured on the
   product's own parser.
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from typing import Any

import numpy as np

from ingest.models.results import TaskType, TextEmbeddingResults
from ingest.models.services.base import InferenceRequest
from ingest.models.services.remote import REMOTE_SERVICES
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import parse_embeddings
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer, Fault, deterministic_vector

KEY = "sk-bench-0123456789abcdef"
RPM = 3000
BATCH = 16
DIMS = 64


def run_load(server: FakeServer, seconds: float, callers: int, check: bool) -> dict[str, Any]:
    """Callers embed batches until ``seconds`` have passed; returns counts and whether every result was right."""
    svc = REMOTE_SERVICES["openai"]()
    config = svc.parse_config(f"bench-{time.monotonic_ns()}", TaskType.TEXT_EMBEDDING,
                              {"api_key": KEY, "model_id": f"bench-{time.monotonic_ns()}",
                               "url": server.url + "/v1/embeddings", "rate_limit": {"requests_per_minute": RPM}},
                              {}, None)
    done, wrong, lost = [0], [0], [0]
    finished: list[tuple[float, int]] = []  # (time, embeddings) of each completed call
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def caller(n: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            texts = [f"caller {n} batch {i} text {j}" for j in range(BATCH)]
            i += 1
            try:
                result = svc.infer(config, InferenceRequest(texts, timeout_s=60))
            except Exception:  # counted, not raised: the benchmark reports losses
                with lock:
                    lost[0] += len(texts)
                continue
            ok = isinstance(result, TextEmbeddingResults)
            if check and isinstance(result, TextEmbeddingResults):
                want = np.asarray([deterministic_vector(t, DIMS) for t in texts], dtype=np.float32)
                ok = result.embeddings.shape == want.shape and np.allclose(result.embeddings, want, rtol=1e-5)
            with lock:
                done[0] += len(texts) if ok else 0
                wrong[0] += 0 if ok else len(texts)
                finished.append((time.monotonic(), len(texts) if ok else 0))

    start = time.monotonic()
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    # steady state: calls completed between 2 s after the start and the stop time (no warm-up, no drain)
    window = (start + 2.0, stop_at)
    steady = sum(n for t, n in finished if window[0] <= t < window[1]) / (window[1] - window[0])
    return {"elapsed": elapsed, "embedded": done[0], "wrong": wrong[0], "lost": lost[0], "steady_per_s": steady}


def throughput(seconds: float, fault_rate: float) -> dict[str, Any]:
    """One load run against a fake with 100 ms latency and a 3,000 rpm limit."""
    fake = FakeOpenAI(KEY, dims=DIMS)
    # the fake enforces 3,000/min over one-second windows (a bucket of 50), as providers enforce per-minute
    # limits over shorter periods; the client itself never sends faster than one request per 20 ms
    with FakeServer(fake, latency_s=0.1, rate_limit_rpm=RPM, rate_limit_burst=RPM / 60, seed=7) as server:
        if fault_rate:
            server.random_fault_rate = fault_rate
            server.random_faults = [Fault(status=429, headers={"retry-after-ms": "20"},
                                          body={"error": {"message": "Rate limit reached"}}),
                                    Fault(status=503, body={"error": {"message": "overloaded"}})]
        result = run_load(server, seconds, callers=16, check=True)
        requests, limited = len(server.requests), server.rate_limited
    bound = RPM / 60.0 * BATCH  # embeddings per second allowed by the limit
    rate = result["embedded"] / result["elapsed"]
    return {**result, "requests": requests, "provider_429": limited, "embeddings_per_s": rate, "bound_per_s": bound,
            "fraction": rate / bound, "steady_fraction": result["steady_per_s"] / bound, "requests_fraction": requests / result["elapsed"] / (RPM / 60.0)}


def parse_cpu(n_batches: int = 20, per_batch: int = 100, dims: int = 1536) -> dict[str, float]:
    """CPU seconds per 1,000 embeddings to parse float-JSON and base64 responses."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((per_batch, dims)).astype(np.float32)
    floats = json.dumps({"object": "list", "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                                                    for i, v in enumerate(vectors)]}).encode()
    b64 = json.dumps({"object": "list", "data": [
        {"object": "embedding", "index": i, "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()}
        for i, v in enumerate(vectors)]}).encode()
    out = {}
    for name, body in (("float_json", floats), ("base64", b64)):
        response = UpstreamResponse(200, {}, body, "http://bench")
        start = time.process_time()
        for _ in range(n_batches):
            parsed = parse_embeddings(response)
        cpu = time.process_time() - start
        assert parsed.shape == (per_batch, dims)
        out[name] = cpu / (n_batches * per_batch) * 1000
        out[name + "_bytes"] = len(body) / per_batch * 1000
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the three parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=25.0, help="seconds per load run")
    args = parser.parse_args(argv)
    clean = throughput(args.duration, 0.0)
    print(f"[clean]  {clean['embedded']} embeddings in {clean['elapsed']:.1f}s = {clean['embeddings_per_s']:.0f}/s; "
          f"bound {clean['bound_per_s']:.0f}/s; fraction {clean['fraction']:.3f} over the whole run, "
          f"{clean['steady_fraction']:.3f} in steady state (target >= 0.95); "
          f"requests {clean['requests']} ({clean['requests_fraction']:.3f} of 50/s, {clean['provider_429']} answered 429 by "
          f"the provider's limiter); lost {clean['lost']}, "
          f"wrong {clean['wrong']}")
    faulty = throughput(args.duration, 0.10)
    print(f"[10% 429/503]  {faulty['embedded']} embeddings in {faulty['elapsed']:.1f}s = "
          f"{faulty['embeddings_per_s']:.0f}/s; fraction {faulty['fraction']:.3f} (steady "
          f"{faulty['steady_fraction']:.3f}; at most 0.90 as failed attempts use slots); requests incl. retries "
          f"{faulty['requests']} ({faulty['requests_fraction']:.3f} of 50/s); lost {faulty['lost']}, "
          f"wrong/out of order {faulty['wrong']}")
    cpu = parse_cpu()
    print(f"[client CPU per 1,000 embeddings, 1536 dims]  float JSON {cpu['float_json'] * 1000:.1f} ms "
          f"({cpu['float_json_bytes'] / 1e6:.1f} MB), base64 {cpu['base64'] * 1000:.1f} ms "
          f"({cpu['base64_bytes'] / 1e6:.1f} MB); ratio {cpu['float_json'] / cpu['base64']:.1f}x")


if __name__ == "__main__":
    main()
