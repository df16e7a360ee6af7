"""Server-sent events: frame encoding, the streaming response, and the projection of runtime
events to Studio events (:func:`project_runtime_event`, defined with the chat mapping).

Responses are ``text/event-stream`` with ``Cache-Control: no-store`` and
``X-Accel-Buffering: no``. A frame is ``id: <seq>`` (when numbered), ``event: <name>`` (when
named) and one ``data:`` line of compact JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import orjson

from flowai_harness.studio.events_map import project_runtime_event
from flowai_harness.studio.live_runs import Frame

if TYPE_CHECKING:
    from starlette.responses import StreamingResponse

__all__ = ["SSE_HEADERS", "encode_frame", "json_text", "project_runtime_event", "sse_response"]

SSE_HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def json_text(value: Any) -> str:
    """Compact JSON text (non-JSON values become strings)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def encode_frame(frame: Frame) -> bytes:
    """Encode one SSE frame."""
    lines = []
    if frame.id is not None:
        lines.append(f"id: {frame.id}")
    if frame.event:
        lines.append(f"event: {frame.event}")
    lines.append(f"data: {json_text(frame.data)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def sse_response(frames: AsyncIterator[Frame]) -> StreamingResponse:
    """Stream ``frames`` as ``text/event-stream``.

    When the client disconnects the iterator is cancelled; its ``finally`` blocks run and must
    not await (they only signal).
    """
    from starlette.responses import StreamingResponse

    async def body() -> AsyncIterator[bytes]:
        async for frame in frames:
            yield encode_frame(frame)

    return StreamingResponse(body(), media_type="text/event-stream", headers=dict(SSE_HEADERS))
