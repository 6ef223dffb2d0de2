"""Change notifications for GraphQL subscriptions: in-process, or through Redis across processes.

Only the topic travels ("payment:12"); a subscriber reads the object fresh from the database,
so a notification can't carry stale or unauthorized data. Each subscriber has a small bounded
queue: a slow one loses intermediate notifications, never the latest state (it re-reads).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

log = logging.getLogger("paygate.events")

QUEUE_SIZE = 16
CHANNEL_PREFIX = "paygate:"


class LocalBus:
    """Fan-out to this process's subscribers."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    async def publish(self, topic: str) -> None:
        self.deliver(topic)

    def deliver(self, topic: str) -> None:
        for queue in self._subscribers.get(topic, ()):
            if queue.full():
                queue.get_nowait()  # drop the oldest: the subscriber re-reads the object anyway
            queue.put_nowait(topic)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[topic]

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus(LocalBus):
    """Publishes through Redis; one listener per process delivers to the local subscribers."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._listener: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._first_try = asyncio.Event()  # the first attempt to subscribe ended, either way

    async def publish(self, topic: str) -> None:
        try:
            await self._redis.publish(CHANNEL_PREFIX + topic, topic)
        except Exception:
            # A notification is a nicety: the state change is committed already. Deliver locally.
            log.exception("could not publish to Redis; delivering to this process only")
            self.deliver(topic)

    async def start(self, wait_s: float = 5.0) -> None:
        """Start listening; wait a little for the subscription so the first updates aren't
        missed, but never refuse to start over it: the listener keeps reconnecting. A refused
        connection is an answer already: waiting out the rest of `wait_s` would only delay start-up."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_try.wait(), wait_s)
            if not self._ready.is_set():
                log.warning("Redis is not answering; live updates stay in this process until it does")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                    self._ready.set()
                    self._first_try.set()
                    async for message in pubsub.listen():
                        if message["type"] == "pmessage":
                            self.deliver(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis subscription lost; reconnecting")
                self._first_try.set()
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()
        await super().close()


def build_bus(redis_url: str | None) -> LocalBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
