"""Send invoke requests to the workers and, if asked, wait for the reply (direct reply-to).

Used by the HTTP shim and the CLI alike, so both take the same path into the system.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from contracts.models import InvokeRequest, InvokeResult
from contracts.topology import DIRECT_REPLY_TO, INVOKE_ROUTING_KEY, Topology
from worker import amqp


class InvokeClient:
    def __init__(self, channel: AbstractChannel, exchange: AbstractExchange) -> None:
        self._channel = channel
        self._exchange = exchange
        self._waiting: dict[str, asyncio.Future[InvokeResult]] = {}

    @classmethod
    async def open(cls, connection: AbstractRobustConnection, topology: Topology) -> InvokeClient:
        channel = await amqp.confirmed_channel(connection)
        exchange = await channel.get_exchange(topology.invoke_exchange, ensure=False)
        client = cls(channel, exchange)
        # Direct reply-to: consume the pseudo-queue (no-ack) on the channel that publishes.
        replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await replies.consume(client._on_reply, no_ack=True)
        return client

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        waiter = self._waiting.pop(message.correlation_id or "", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(InvokeResult.parse(message.body))

    async def send(
        self, request: InvokeRequest, *, want_reply: bool = True, correlation_id: str | None = None
    ) -> None:
        """Publish the request, confirmed; raises if the broker did not take it."""
        await self._exchange.publish(
            amqp.json_message(
                request.body(),
                message_id=request.invocation_id,
                correlation_id=correlation_id or request.invocation_id,
                reply_to=DIRECT_REPLY_TO if want_reply else None,
            ),
            routing_key=INVOKE_ROUTING_KEY,
            mandatory=True,
        )

    async def call(self, request: InvokeRequest, timeout: float) -> InvokeResult | None:
        """Publish and wait for the worker's answer; None when none came within `timeout`."""
        # One correlation id per call: the same invocation may be in flight twice at once.
        correlation_id = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = waiter
        try:
            await self.send(request, correlation_id=correlation_id)
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(correlation_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._channel.close()
