"""Do wrong passwords slow other clients? (``python -m bench.auth_bench``).

Against a real ``ingest serve`` on 127.0.0.1 with security enabled:

1. idle: ``--clients`` clients with a valid basic-auth login (cached after its first check) call
   ``GET /_security/_authenticate`` for ``--seconds``; p50/p99 of their latency;
2. under attack: the same clients while ``--attackers`` clients send wrong passwords as fast as they are answered;
   p50/p99 of the good clients again, and the ratio of the two p99s (the goal: within 2x);
3. enumeration: median latency of a wrong password for a known user vs an unknown user (the goal: about 1x).

Bounded: each phase stops after ``--seconds`` or ``--requests`` per phase; loopback only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _phase(url: str, clients: int, attackers: int, seconds: float, limit: int) -> dict[str, float]:
    good: list[float] = []
    bad_count = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def good_client() -> None:
        with httpx.Client(base_url=url, headers=_basic("good", "good-password"), timeout=30) as http:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                assert http.get("/_security/_authenticate").status_code == 200
                with lock:
                    good.append((time.perf_counter() - t0) * 1000)
                    if len(good) >= limit:
                        return

    def attacker(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = 0
            while time.monotonic() < stop_at:
                http.get("/_inference", headers=_basic("good", f"guess-{k}-{i}"))
                i += 1
                with lock:
                    bad_count[0] += 1

    threads = [threading.Thread(target=good_client) for _ in range(clients)]
    threads += [threading.Thread(target=attacker, args=(k,)) for k in range(attackers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"good_requests": len(good), "p50_ms": _percentile(good, 0.5), "p99_ms": _percentile(good, 0.99),
            "bad_requests": bad_count[0]}


def _median_latency(url: str, user: str, n: int) -> float:
    times = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(n):
            t0 = time.perf_counter()
            assert http.get("/_inference", headers=_basic(user, f"wrong-{i}")).status_code == 401
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the three phases and print one JSON line per phase plus a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--attackers", type=int, default=8)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="auth-bench-"))
    env = {**os.environ, "INGEST_HOME": str(home)}
    cli = [sys.executable, "-m", "ingest.cli.main"]
    subprocess.run([*cli, "security", "enable"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "keys", "add-user", "good", "--role", "inference_user", "--password", "good-password"],
                   env=env, check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        _phase(url, args.clients, 0, 1.0, 200)  # warm-up: the good login gets cached
        idle = _phase(url, args.clients, 0, args.seconds, args.requests)
        print(json.dumps({"phase": "idle", **idle}), flush=True)
        attack = _phase(url, args.clients, args.attackers, args.seconds, args.requests)
        print(json.dumps({"phase": "attack", "attackers": args.attackers, **attack}), flush=True)
        known = _median_latency(url, "good", 20)
        unknown = _median_latency(url, "nobody-by-that-name", 20)
        print(json.dumps({"phase": "enumeration", "known_user_wrong_password_ms": known,
                          "unknown_user_ms": unknown, "ratio": unknown / known}), flush=True)
        print(json.dumps({"summary": "p99 of good clients under attack / idle",
                          "ratio": attack["p99_ms"] / idle["p99_ms"]}), flush=True)
    finally:
        server.terminate()
        server.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
