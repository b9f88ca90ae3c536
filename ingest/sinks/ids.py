"""Auto-generated document ids as Elasticsearch makes them (``TimeBasedUUIDGenerator``).

15 bytes, URL-safe base64 without padding → 20 characters: a sequence number (random start), the time in
milliseconds and a random 6-byte "MAC address", laid out in Elasticsearch's byte order (bytes that change often
first, so ids sort and compress like Elasticsearch's). Ids from one generator never repeat: the clock never goes
backwards within a generator and the sequence number wrapping to 0 advances the timestamp.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time


class TimeBasedIds:
    """One id generator (the store holds one; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = secrets.randbits(24)
        self._last_ms = 0
        mac = bytearray(secrets.token_bytes(6))
        mac[0] |= 0x01  # the multicast bit, as Elasticsearch marks a random (not a real) address
        self._mac = bytes(mac)

    def next(self) -> str:
        """A new 20-character id."""
        with self._lock:
            self._sequence = (self._sequence + 1) & 0xFFFFFF
            now = max(self._last_ms, int(time.time() * 1000))
            if self._sequence == 0:
                now += 1  # the sequence wrapped: the timestamp moves on so ids stay unique
            self._last_ms = now
            seq = self._sequence
        raw = bytes([
            seq & 0xFF, (seq >> 16) & 0xFF,
            (now >> 16) & 0xFF, (now >> 24) & 0xFF, (now >> 32) & 0xFF, (now >> 40) & 0xFF,
            *self._mac,
            (now >> 8) & 0xFF, (seq >> 8) & 0xFF, now & 0xFF,
        ])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
