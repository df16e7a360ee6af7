"""The Redis store's write times and its pub/sub listener (the ``RunStore`` side).

* Write times: Redis keeps none, so every write without a TTL also records the time in the
  sorted set ``<prefix>%written%<escaped tenant>`` (member: the key, score: epoch ms), in the
  same ``MULTI``; a delete removes the member. ``delete_prefix(updated_before_ms=...)`` reads
  the scores. The set's name holds ``%`` right after the prefix, which an escaped tenant never
  starts with, so no tenant's key scan reaches it. Keys written before this existed (or with a
  TTL) have no time and are never removed by age.
* Signals: one pub/sub channel per prefix, ``<prefix>%notify``, payload ``[tenant, channel]``
  as JSON. Each event loop that waits keeps one subscribed connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson

from flowai_harness.storage._runstore import Channels

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Subscriber", "notify_channel", "payload", "written_set"]

_log = logging.getLogger(__name__)
_RECONNECT_S = 0.5


def written_set(prefix: str, escaped_tenant: str) -> str:
    """The sorted set of write times of one tenant."""
    return f"{prefix}%written%{escaped_tenant}"


def notify_channel(prefix: str) -> str:
    """The pub/sub channel of every store instance with ``prefix``."""
    return f"{prefix}%notify"


def payload(tenant: str, channel: str) -> bytes:
    """The message naming one ``(tenant, channel)``."""
    return orjson.dumps([tenant, channel])


class Subscriber:
    """One subscribed connection of one event loop; wakes :class:`Channels` waiters.

    It resubscribes after a failure; every (re)subscription wakes every waiter, who then reads
    the store again (a message published while nobody listened is not lost that way).
    """

    def __init__(self, client: Redis, channel: str, channels: Channels, name: str) -> None:
        self._client = client
        self._channel = channel
        self._channels = channels
        self._name = name
        self.ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._listen(), name="flowai-kv-redis-subscribe"
        )

    async def close(self) -> None:
        """Unsubscribe and close the connection."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _listen(self) -> None:
        failures = 0
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                failures = 0
                self.ready.set()
                self._channels.signal_all()
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if failures == 1:
                    _log.warning(
                        "%s: the pub/sub connection failed (%s); resubscribing, waiters fall "
                        "back to their timeouts meanwhile",
                        self._name,
                        type(error).__name__,
                    )
                self.ready.clear()
                await asyncio.sleep(_RECONNECT_S)
            finally:
                await pubsub.aclose()

    def _deliver(self, raw: Any) -> None:
        try:
            tenant, channel = orjson.loads(raw)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            return  # not ours: someone else published on the channel
        if isinstance(tenant, str) and isinstance(channel, str):
            self._channels.signal(tenant, channel)
