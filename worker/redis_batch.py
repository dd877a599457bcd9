"""Redis commands issued together, sent together: one pipeline per turn of the event loop.

A worker handles up to `prefetch` invocations at once, and each of them reads and writes
Redis. On the client, a round trip costs far more than the command it carries (a pooled
connection taken and given back, a socket write, a read, the retry and timeout wrappers): in
the profile, two commands per invocation were a fifth of the worker's CPU. Commands issued in
the same turn of the loop share one non-transactional pipeline instead; each caller still
gets its own result, or its own error (a connection error fails the whole batch, which each
caller handles as before). Nothing is held back: the batch goes out at the end of the turn
in which its first command was issued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

Command = Callable[[Pipeline], object]


class RedisBatch:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queued: list[tuple[Command, asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    def run(self, command: Command) -> asyncio.Future[Any]:
        """Queue `command` (it adds one command to the pipeline it is given); the future
        resolves to that command's reply."""
        loop = asyncio.get_running_loop()
        if not self._queued:
            loop.call_soon(self._send_queued)
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append((command, future))
        return future

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            pipeline = self._redis.pipeline(transaction=False)
            for command, _ in batch:
                command(pipeline)
            replies = await pipeline.execute(raise_on_error=False)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
