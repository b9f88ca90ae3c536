"""A running ``ingest serve`` recorded in its home, so that other processes on the same home go through it.

DuckDB lets one process open the embedded store read-write and no other process open it at all, so while a
server runs, the CLI (``ingest run``, ``export``, ``indices``…) must not open ``indices.duckdb`` itself: it finds
the server here and sends its writes and reads over HTTP instead (``AppContext.open_sink``).

Two files in the home:

- ``serve.lock``: an exclusive ``flock`` held by the server for its whole life. The kernel drops it when the
  process dies (even by SIGKILL), so a second server on the home is refused without any stale-file guesswork.
- ``serve.json`` (0600): the server's pid, the URL it is bound to and a random local token. The token makes the
  CLI a superuser-equivalent local client even when security is enabled; the server accepts it only from a
  loopback peer, and it is never logged nor printed. The file is removed on clean exit; one left by a dead pid
  (a SIGKILLed server) is ignored.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOCK_FILE = "serve.lock"
INFO_FILE = "serve.json"
LOCAL_TOKEN_PREFIX = "ingest-local-"  # not base64 of id:key, so it can never be taken for a stored API key


@dataclass(frozen=True)
class Presence:
    """A server recorded in a home: its pid, the URL the CLI reaches it at, and the local token."""

    pid: int
    url: str
    token: str
    owns_store: bool = True  # its ``--dest`` is the home's embedded store (else the CLI must not write through it)

    def describe(self) -> str:
        """The server for messages: pid and URL, never the token."""
        return f"pid {self.pid}, {self.url}"


class AlreadyServing(Exception):
    """Another live server holds this home."""

    def __init__(self, presence: Presence | None) -> None:
        self.presence = presence
        what = presence.describe() if presence else "pid unknown"
        super().__init__(f"an ingest server is already running on this INGEST_HOME ({what})")


class Claim:
    """This process's claim on a home as its server; :meth:`release` on clean exit."""

    def __init__(self, home: Path, lock: IO[bytes], presence: Presence) -> None:
        self.home, self._lock, self.presence = home, lock, presence

    @property
    def token(self) -> str:
        """The local token clients of this home present (``ApiKey <token>``)."""
        return self.presence.token

    def release(self) -> None:
        """Remove ``serve.json`` (when it is still ours) and drop the lock. Idempotent: the app's shutdown and the
        command's exit both call it."""
        if self._lock.closed:
            return
        path = self.home / INFO_FILE
        with contextlib.suppress(OSError):
            if read(self.home) == self.presence:
                path.unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


def local_url(host: str, port: int, https: bool) -> str:
    """The URL a local client reaches a server bound to ``host`` at: a wildcard bind is reached on loopback."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{'https' if https else 'http'}://{host}:{port}"


def claim(home: Path, url: str, *, owns_store: bool = True) -> Claim:
    """Become the server of ``home``: take the lock and write ``serve.json`` with a new token.
    Raises :class:`AlreadyServing` naming the running server when another live process holds the lock."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    lock = os.fdopen(fd, "r+b")
    for attempt in range(20):  # a client's probe holds a shared lock for microseconds: try for about a second
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if attempt == 19:
                lock.close()
                raise AlreadyServing(read(home)) from None
            time.sleep(0.05)
    presence = Presence(os.getpid(), url, LOCAL_TOKEN_PREFIX + secrets.token_urlsafe(32), owns_store)
    tmp = home / f".{INFO_FILE}.{os.getpid()}"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump({"pid": presence.pid, "url": presence.url, "token": presence.token,
                   "owns_store": presence.owns_store}, out)
    os.replace(tmp, home / INFO_FILE)  # readers never see a half-written file
    return Claim(home, lock, presence)


def read(home: Path) -> Presence | None:
    """What ``serve.json`` says, whoever wrote it (None when absent or unreadable)."""
    try:
        raw = json.loads((home / INFO_FILE).read_text())
        return Presence(int(raw["pid"]), str(raw["url"]), str(raw["token"]), bool(raw.get("owns_store", True)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _held(home: Path) -> bool:
    """Whether a live process holds ``serve.lock`` (probed with a shared lock, released at once). Unlike a pid
    check, a pid reused by an unrelated process after a SIGKILLed server does not count."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock, if taken
    return False


def running(home: Path) -> Presence | None:
    """The live server of ``home`` other than this process, or None (no file, a stale file of a dead server whose lock the kernel dropped, or the
    caller is the server itself)."""
    presence = read(home)
    if presence is None or presence.pid == os.getpid() or not _held(home):
        return None
    return presence
