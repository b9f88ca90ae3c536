"""Fixtures of the CLI tests: a real ``ingest serve`` subprocess on a fresh home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.helpers import ROOT
from tests.servers import free_port


class Server:
    """An ``ingest serve`` subprocess on a home."""

    def __init__(self, home: Path, log: Path, *extra: str) -> None:
        self.home, self.port, self.log = home, free_port(), log
        env = {**{k: v for k, v in os.environ.items() if k != "INGEST_FAULT"}, "INGEST_HOME": str(home)}
        self.proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(self.port), *extra],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "ingest serve did not start"
            try:
                if json.loads((home / "serve.json").read_text())["pid"] == self.proc.pid:
                    self.get("/")
                    return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # security enabled: up, and refusing anonymous requests
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def count(self, index: str) -> int:
        return int(self.get(f"/{index}/_count")["count"])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(60)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def server(home: Path, tmp_path: Path) -> Iterator[Server]:
    running = Server(home, tmp_path / "serve.log")
    yield running
    running.stop()
