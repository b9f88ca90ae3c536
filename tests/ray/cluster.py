"""A real Ray cluster on this machine for the tests: a head and worker nodes, each ``ray start`` its own set of
processes with its own temp dir and ports, small CPU counts and a small object store. ``stop`` always runs
a scoped kill of its own processes (the tests' teardown)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE = "200000000"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRayCluster:
    """Start a head with :meth:`start`, workers with :meth:`add_worker`; :meth:`stop` ends them all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        self.env.pop("RAY_ADDRESS", None)
        self.workers: list[Path] = []

    def _ports(self) -> list[str]:
        # Several nodes on one machine: every per-node port must differ (their defaults are fixed numbers).
        # free_port() closes its socket, so two calls can return the same port: draw until all six differ
        # (Ray refuses a port shared by two components).
        ports: list[int] = []
        while len(ports) < 6:
            port = free_port()
            if port not in ports and port != self.port:
                ports.append(port)
        names = ("node-manager", "object-manager", "dashboard-agent-listen", "dashboard-agent-grpc",
                 "runtime-env-agent", "metrics-export")
        return [f"--{name}-port={port}" for name, port in zip(names, ports, strict=True)]

    def _start(self, args: list[str], temp_dir: Path) -> None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        cmd = [RAY, "start", *args, *self._ports(), "--node-ip-address=127.0.0.1",
               f"--object-store-memory={OBJECT_STORE}", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def start(self, num_cpus: int = 1) -> None:
        """The head node."""
        self._start(["--head", f"--port={self.port}", f"--num-cpus={num_cpus}", "--include-dashboard=false"],
                    self.root / "head")

    def add_worker(self, num_cpus: int = 1) -> None:
        """A worker node joining the head."""
        temp = self.root / f"worker{len(self.workers)}"
        self._start([f"--address={self.address}", f"--num-cpus={num_cpus}"], temp)
        self.workers.append(temp)

    def wait_for_nodes(self, count: int, timeout_s: float = 60) -> None:
        """Until ``count`` nodes are alive (checked from a separate driver process)."""
        code = (
            "import ray, time, sys\n"
            f"ray.init(address='{self.address}', log_to_driver=False)\n"
            f"deadline = time.time() + {timeout_s}\n"
            f"while len([n for n in ray.nodes() if n['Alive']]) < {count}:\n"
            "    if time.time() > deadline: sys.exit(1)\n"
            "    time.sleep(0.5)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                              timeout=timeout_s + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"the cluster did not reach {count} nodes:\n{proc.stderr[-2000:]}")

    def kill_worker(self, number: int) -> set[int]:
        """SIGKILL every process of worker node ``number`` (raylet, agents, its Ray workers): the node is lost."""
        victims = _processes_under(str(self.workers[number]) + os.sep)
        for pid in victims:
            kill(pid)
        return victims

    def stop(self) -> None:
        """SIGKILL this cluster's processes only: every process whose command line names the cluster's temp
        folder (GCS, raylets, monitors, agents) and all their descendants (Ray's worker processes).

        ``ray stop --force`` would kill every Ray process of the user, including another test run's cluster on
        the same machine.
        """
        for _ in range(3):  # a process can fork while we look: go round until nothing is left
            victims = _processes_under(str(self.root) + os.sep)
            if not victims:
                return
            for pid in victims:
                kill(pid)
            time.sleep(0.5)


def _processes_under(marker: str) -> set[int]:
    """Pids whose command line contains ``marker``, plus all their descendants (read from /proc)."""
    parent: dict[int, int] = {}
    roots: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        pid = int(entry.name)
        parent[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        if marker in cmdline:
            roots.add(pid)
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in found}
        found |= frontier
    found.discard(os.getpid())
    return found


def kill(pid: int) -> bool:
    """SIGKILL ``pid``; False if it was already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    """Poll ``predicate`` until true or timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return False


@contextlib.contextmanager
def two_node_cluster(folder: Path, head_cpus: int, worker_cpus: int = 2) -> Iterator[LocalRayCluster]:
    """A head and one worker node on 127.0.0.1, stopped on exit (the session fixture and the node-loss test)."""
    cluster = LocalRayCluster(folder)
    try:
        cluster.start(num_cpus=head_cpus)
        cluster.add_worker(num_cpus=worker_cpus)
        cluster.wait_for_nodes(2)
        yield cluster
    finally:
        cluster.stop()
