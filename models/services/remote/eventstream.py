"""AWS event-stream framing (``application/vnd.amazon.eventstream``), as Bedrock's ``ConverseStream`` sends it.

A message is: total length (4 bytes), headers length (4), prelude CRC32 (4), headers, payload, message CRC32 (4),
all big-endian. Headers are ``name_len(1) name type(1) value``; type 7 is a string with a 2-byte length.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator

import httpx

from ingest.models.services.remote.errors import UpstreamError

# byte sizes of the fixed-size header value types (0/1 are booleans without a value)
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def parse_headers(raw: bytes) -> dict[str, str | bytes | None]:
    """Header name → value (strings decoded; other types kept as raw bytes)."""
    headers: dict[str, str | bytes | None] = {}
    pos = 0
    while pos < len(raw):
        name_len = raw[pos]
        name = raw[pos + 1:pos + 1 + name_len].decode()
        kind = raw[pos + 1 + name_len]
        pos += 2 + name_len
        if kind in (6, 7):
            (size,) = struct.unpack(">H", raw[pos:pos + 2])
            value = raw[pos + 2:pos + 2 + size]
            headers[name] = value.decode() if kind == 7 else value
            pos += 2 + size
        elif kind in _FIXED:
            headers[name] = raw[pos:pos + _FIXED[kind]] or None
            pos += _FIXED[kind]
        else:
            raise ValueError(f"unknown event-stream header type [{kind}]")
    return headers


def split_messages(buffer: bytearray) -> list[tuple[dict[str, str | bytes | None], bytes]]:
    """Take the complete messages off the front of ``buffer`` (checking both CRCs)."""
    out = []
    while len(buffer) >= 12:
        total, headers_len, prelude_crc = struct.unpack(">III", buffer[:12])
        if zlib.crc32(bytes(buffer[:8])) != prelude_crc:
            raise ValueError("event-stream prelude CRC mismatch")
        if len(buffer) < total:
            break
        message = bytes(buffer[:total])
        del buffer[:total]
        if zlib.crc32(message[:-4]) != struct.unpack(">I", message[-4:])[0]:
            raise ValueError("event-stream message CRC mismatch")
        out.append((parse_headers(message[12:12 + headers_len]), message[12 + headers_len:-4]))
    return out


async def event_stream(response: httpx.Response, inference_id: str) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(event type, JSON payload)``; an ``exception`` message raises the provider's error."""
    buffer = bytearray()
    try:
        async for data in response.aiter_bytes():
            buffer += data
            for headers, payload in split_messages(buffer):
                if headers.get(":message-type") == "exception":
                    kind = str(headers.get(":exception-type"))
                    raise UpstreamError(
                        f"Received an error response for request from inference entity id [{inference_id}] status "
                        f"[200]. Error message: [{kind}: {payload.decode(errors='replace')}]",
                        400, retryable=False)
                yield str(headers.get(":event-type", "")), payload.decode()
    except httpx.HTTPError as exc:
        raise UpstreamError(f"The stream for request from inference entity id [{inference_id}] ended unexpectedly: "
                            f"{type(exc).__name__}", 400, retryable=False) from None
