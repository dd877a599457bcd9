"""What the shim knows of its dependencies, refreshed in the background each second:
`/readyz` reports it, and the invoke route answers from it at once rather than publish
into an outage or make a caller wait for a reply that cannot come in time.

- broker: connected, and its node confirmed a publish lately (`amqp.Broker.progressing`);
- database, cache: a `SELECT 1` and a `PING` answered within a second;
- the invoke queue: how many requests wait in it, and how many workers consume it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import structlog
from aio_pika.abc import AbstractChannel

from worker import amqp
from worker.resources import Resources

log = structlog.get_logger(__name__)

CHECK_INTERVAL_SECONDS = 1.0
CHECK_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class InvokeQueue:
    waiting: int  # ready messages
    consumers: int


class Readiness:
    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._checks = {"database": True, "cache": True}
        self.invoke_queue: InvokeQueue | None = None  # None: not known (yet)
        self._channel: AbstractChannel | None = None
        self._task: asyncio.Task[None] | None = None

    def checks(self) -> dict[str, bool]:
        return {"broker": self._resources.broker.progressing, **self._checks}

    def down(self) -> list[str]:
        """The dependencies known to be down now."""
        return [name for name, ok in self.checks().items() if not ok]

    def backlogged(self) -> bool:
        """Whether a worker's reply cannot be expected in time: no worker consumes the invoke
        queue, or more requests wait in it than `queued_answer_depth`."""
        queue = self.invoke_queue
        if queue is None:
            return False
        return queue.consumers == 0 or queue.waiting >= self._resources.settings.queued_answer_depth

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._keep_refreshing())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._drop_channel()

    async def _drop_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.close(), CHECK_TIMEOUT_SECONDS)

    async def refresh(self) -> None:
        resources = self._resources
        database, cache, queue = await asyncio.gather(
            _answers(resources.pool.fetchval("SELECT 1")),
            _answers(resources.redis.ping()),
            self._invoke_queue(),
        )
        self._checks = {"database": database, "cache": cache}
        self.invoke_queue = queue

    async def _keep_refreshing(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_SECONDS)
            try:
                with amqp.as_broker_failure():
                    await self.refresh()
            except Exception:  # a check that fails unexpectedly must not end the checking
                log.exception("readiness check failed")

    async def _invoke_queue(self) -> InvokeQueue | None:
        """The invoke queue's depth and consumers, by a passive declare; None when the broker
        does not tell."""
        broker = self._resources.broker
        if not broker.is_connected:
            return None
        try:
            if self._channel is None or self._channel.is_closed:
                self._channel = await asyncio.wait_for(
                    broker.connection.channel(), CHECK_TIMEOUT_SECONDS
                )
            declared = await asyncio.wait_for(
                self._channel.declare_queue(
                    self._resources.settings.topology.invoke_queue, passive=True
                ),
                CHECK_TIMEOUT_SECONDS,
            )
        except Exception:
            await self._drop_channel()
            return None
        result = declared.declaration_result
        return InvokeQueue(result.message_count or 0, result.consumer_count or 0)


async def _answers(check: Any) -> bool:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except Exception:
        return False
    return True
