"""Helpers shared by the node launchers: cache folder, locks, free ports, Maven, process lifecycle."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cache_root() -> Path:
    """Where downloaded and built node artifacts are kept across test sessions."""
    raw = os.environ.get("INGEST_TEST_CLUSTERS_CACHE")
    root = Path(raw) if raw else Path.home() / ".cache" / "ingest" / "test-clusters"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Serialise the one-time preparation across concurrent test processes."""
    path = cache_root() / f"{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def content_hash(*paths: Path, extra: str = "") -> str:
    """Short hash of some files, so a changed pom/launcher rebuilds the cache entry."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _java_major(jdk: Path) -> int | None:
    try:
        for line in (jdk / "release").read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                return int(line.split("=", 1)[1].strip('"').split(".")[0])
    except (OSError, ValueError):
        return None
    return None


def find_jdk(min_major: int) -> str | None:
    """The oldest JDK under /usr/lib/jvm with at least ``min_major`` (the engines are tested on their minimum
    Java most); falls back to the ``java`` on PATH when it is new enough. None if there is none."""
    found = []
    for jdk in Path("/usr/lib/jvm").glob("*"):
        major = _java_major(jdk)
        if major is not None and major >= min_major and (jdk / "bin" / "java").exists() and not jdk.is_symlink():
            found.append((major, str(jdk)))
    if found:
        return min(found)[1]
    java = shutil.which("java")
    if java:
        home = Path(os.path.realpath(java)).parent.parent
        major = _java_major(home)
        if major is not None and major >= min_major:
            return str(home)
    return None


def run_maven(args: list[str], cwd: Path) -> None:
    """Run Maven quietly in batch mode; raise with its output when it fails."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the test cluster artifacts; install it (apt-get install maven)")
    proc = subprocess.run([mvn, "-q", "-B", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mvn {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the node is killed if the test process dies without tearing it down.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def http_json(url: str, timeout: float = 5.0) -> dict:
    """GET a JSON document (stdlib only: the fixtures must not depend on the code under test)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass
class NodeProcess:
    """A running node: its URL, process and log file."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    started_s: float = 0.0

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the node's console output, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_process(
    cmd: list[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a node process writing to ``log_path``, killed automatically if we die."""

    def setup() -> None:
        if preexec is not None:
            preexec()
        # After any setuid in preexec: changing credentials clears the parent-death signal.
        _die_with_parent()

    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, env=env, cwd=cwd,
            preexec_fn=setup,
        )
    finally:
        log.close()


def wait_for_yellow(node: NodeProcess, timeout: float = 180.0) -> None:
    """Poll ``_cluster/health`` until yellow; fail with the node's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    url = f"{node.url}/_cluster/health?wait_for_status=yellow&timeout=2s"
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise RuntimeError(f"node exited with status {node.proc.returncode}:\n{node.log_tail()}")
        try:
            health = http_json(url)
            if health.get("status") in ("yellow", "green"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    node.stop()
    raise RuntimeError(f"node at {node.url} not yellow after {timeout:.0f}s:\n{node.log_tail()}")
