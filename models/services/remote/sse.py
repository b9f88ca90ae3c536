"""Reading a provider's server-sent events (the ``text/event-stream`` framing of the WHATWG spec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from ingest.models.services.remote.errors import UpstreamError


async def sse_events(response: httpx.Response, inference_id: str) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(event, data)`` pairs as they arrive; a connection lost mid-stream raises a clear error."""
    event, data = "message", list[str]()
    try:
        async for line in response.aiter_lines():
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "message", []
                continue
            if line.startswith(":"):
                continue  # a comment / keep-alive
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    except httpx.HTTPError as exc:
        raise UpstreamError(
            f"The stream for request from inference entity id [{inference_id}] ended unexpectedly: "
            f"{type(exc).__name__}",
            400,
            retryable=False,
        ) from None
    if data:
        yield event, "\n".join(data)
