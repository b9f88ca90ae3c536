"""HTTP layer cost and cold start of the inference API (``python -m bench.http_bench``).

1. requests/s and p50/p99 latency of ``POST /_inference`` (E5, one short input per request, 8 concurrent
   clients) against a real ``ingest serve`` process, beside the same load sent in-process to the runtime
   (``LocalModel.embed``) and to ``InferenceAPI.infer``: the ratios show what the HTTP layer costs;
2. cold start: the time from the first request after a scale-to-zero to its answer, beside the model's load
   time.

Bounded: each phase stops after ``--seconds`` (default 15) or ``--requests``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

MODEL = ".multilingual-e5-small"
TEXTS = [f"query number {i}: how do I tune the refresh interval of an index?" for i in range(64)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _load(name: str, call: Callable[[str], object], clients: int, seconds: float, limit: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(offset: int) -> None:
        i = offset
        while time.monotonic() < stop_at:
            with lock:
                if len(latencies) >= limit:
                    return
            t0 = time.perf_counter()
            call(TEXTS[i % len(TEXTS)])
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
            i += clients

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    row = {"requests": len(latencies), "rps": len(latencies) / elapsed,
           "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99)}
    print(f"{name:<28} {row['requests']:>6} req  {row['rps']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms  "
          f"p99 {row['p99_ms']:7.1f} ms", flush=True)
    return row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def main(argv: list[str] | None = None) -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--allocations", type=int, default=2)
    args = parser.parse_args(argv)

    from ingest.models.api import InferenceAPI
    from ingest.models.deployments import DeploymentManager
    from ingest.models.runtime import load_model
    from ingest.models.store import Store

    home = Path(tempfile.mkdtemp(prefix="ingest-http-bench-"))
    os.environ["INGEST_HOME"] = str(home)
    print(f"# {args.clients} concurrent clients, single short inputs, {MODEL}, "
          f"{args.allocations} allocation(s) x 1 thread; {os.cpu_count()} cores", flush=True)

    t0 = time.perf_counter()
    model = load_model(MODEL, threads=1)  # builds into the shared cache on first use
    first_load_s = time.perf_counter() - t0
    model.close()
    t0 = time.perf_counter()
    model = load_model(MODEL, threads=1)
    load_s = time.perf_counter() - t0
    model.embed(["warm up"])
    raw = _load("runtime in-process (1 sess)", lambda t: model.embed([t]), args.clients, args.seconds,
                args.requests)
    model.close()

    api = InferenceAPI(Store(home / "inproc.sqlite"), deployments=DeploymentManager())
    api.put("e5", {"service": "elasticsearch", "service_settings": {
        "model_id": MODEL, "num_threads": 1, "num_allocations": args.allocations}})
    api.infer("e5", "warm up")
    inproc = _load("InferenceAPI.infer in-process", lambda t: api.infer("e5", t), args.clients, args.seconds,
                   args.requests)
    api.close()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INGEST_SCALE_TO_ZERO_TIME": "2s"}
    server = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env)
    try:
        _wait(url, 60)
        r = httpx.put(f"{url}/_inference/text_embedding/e5", timeout=300, json={
            "service": "elasticsearch",
            "service_settings": {"model_id": MODEL, "num_threads": 1, "num_allocations": args.allocations}})
        r.raise_for_status()
        local = threading.local()

        def http_call(text: str) -> object:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=60)
            resp = client.post(f"{url}/_inference/e5", json={"input": text})
            resp.raise_for_status()
            return resp

        http_call("warm up")
        http = _load("POST /_inference over HTTP", http_call, args.clients, args.seconds, args.requests)
        print(f"HTTP / in-process API throughput: {http['rps'] / inproc['rps']:.2f}; "
              f"HTTP / raw runtime: {http['rps'] / raw['rps']:.2f}; "
              f"added p50 latency vs API: {http['p50_ms'] - inproc['p50_ms']:.1f} ms", flush=True)

        # cold start: adaptive allocations down to zero after 2 s idle, then one request
        httpx.put(f"{url}/_inference/e5/_update", timeout=60, json={"service_settings": {"adaptive_allocations": {
            "enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": args.allocations}}}
                  ).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = httpx.get(f"{url}/_ml/trained_models/e5/_stats").json()
            if stats["trained_model_stats"][0]["deployment_stats"]["allocation_status"]["allocation_count"] == 0:
                break
            time.sleep(0.25)
        else:
            raise SystemExit("the deployment did not scale to zero")
        t0 = time.perf_counter()
        httpx.post(f"{url}/_inference/e5", json={"input": "cold"}, timeout=120).raise_for_status()
        cold_s = time.perf_counter() - t0
        print(f"cold start after scale-to-zero: {cold_s * 1000:.0f} ms to the first answer; model load time "
              f"{load_s * 1000:.0f} ms (first load incl. any build: {first_load_s * 1000:.0f} ms)", flush=True)
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main(sys.argv[1:])
