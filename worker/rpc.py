"""Send invoke requests to the workers and, if asked, wait for the reply (direct reply-to).

Used by the HTTP shim and the CLI alike, so both take the same path into the system.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from typing import Any

import aiormq.abc
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from contracts.models import InvokeRequest, InvokeResult
from contracts.topology import DIRECT_REPLY_TO, INVOKE_ROUTING_KEY, Topology
from worker import amqp
from worker.outage import BROKER_ERRORS

# Pause before publishing again after the broker connection failed under a publish.
RETRY_PAUSE_SECONDS = 0.2


class BrokerUnavailable(ConnectionError):
    """No broker node confirmed the request within the caller's time: none answers, the
    connection was lost, or a resource alarm blocks publishers."""


class InvokeClient:
    def __init__(
        self,
        source: amqp.Broker | AbstractConnection,
        topology: Topology,
        confirm_bound: float | None = None,
    ) -> None:
        self._source = source
        self._topology = topology
        # A publish not confirmed within this (when given) is made again on a fresh channel
        # while the caller's time lasts.
        self._confirm_bound = confirm_bound
        # The broker user this process publishes as: the validated `user_id` property of each
        # request, an identity the worker checks (worker/identity.py).
        self._user_id = amqp.broker_user(source)
        self._channel: AbstractChannel | None = None
        self._connection: AbstractConnection | None = None  # the channel's
        self._closed: asyncio.Future[Any] | None = None  # done once the channel closed
        self._opening = asyncio.Lock()
        # Each waiting call's future, by correlation id: its reply, or None when the channel
        # it was sent on closed (a reply to a lost channel goes nowhere).
        self._waiting: dict[str, asyncio.Future[InvokeResult | None]] = {}
        # Correlation ids need only be unique among this client's calls: replies come to its
        # own channel.
        self._correlation_prefix = uuid.uuid4().hex[:12]
        self._calls = itertools.count()

    @classmethod
    async def open(
        cls,
        source: amqp.Broker | AbstractConnection,
        topology: Topology,
        confirm_bound: float | None = None,
    ) -> InvokeClient:
        """A client on a process's `Broker` (it follows the broker to its next connection) or
        on one connection; fails now if the broker does not answer."""
        client = cls(source, topology, confirm_bound)
        await client._publisher()
        return client

    async def _publisher(self) -> aiormq.abc.AbstractChannel:
        """aiormq's channel under the publishing channel with its reply consumer, opened
        afresh after a loss."""
        async with self._opening:
            if (
                self._channel is None
                or self._closed is None
                or self._closed.done()
                or self._channel.is_closed
                or self._connection is not self._current_connection()
            ):
                amqp.close_soon(self._channel)  # a robust channel reopened since: not reused
                connection = await amqp.live_connection(self._source)
                channel = await amqp.confirmed_channel(connection)
                # Direct reply-to: consume the pseudo-queue (no-ack) on the channel that
                # publishes, before the first publish that asks for a reply.
                replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
                await replies.consume(self._on_reply, no_ack=True)
                # One watch per channel, not one per call: its loss wakes every waiting call.
                closed = asyncio.ensure_future(channel.closed())  # a future already: itself
                closed.add_done_callback(self._on_channel_lost)
                self._closed = closed
                self._channel, self._connection = channel, connection
            return await self._channel.get_underlay_channel()

    def _current_connection(self) -> AbstractConnection | None:
        """The connection to publish on now: the broker may have moved to another node while
        a channel of the one it left still looks open."""
        if isinstance(self._source, amqp.Broker):
            return self._source.connection if self._source.is_connected else self._connection
        return self._source

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        waiter = self._waiting.pop(message.correlation_id or "", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(InvokeResult.parse(message.body))

    def _on_channel_lost(self, _: object) -> None:
        """Every waiting call asks again on the next channel (calls that were sent on a newer
        one too: a repeated invocation id is answered with its first result)."""
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_result(None)

    async def _publish(
        self,
        request: InvokeRequest,
        want_reply: bool,
        correlation_id: str | None,
    ) -> None:
        # One place for every try: opening the channel and the confirm, whichever task waits.
        # aiormq's publish, without an aio-pika message: the same frames, less work per call.
        with amqp.as_broker_failure():
            channel = await self._publisher()
            await channel.basic_publish(
                request.body(),
                exchange=self._topology.invoke_exchange,
                routing_key=INVOKE_ROUTING_KEY,
                properties=amqp.json_properties(
                    request.invocation_id,
                    correlation_id=correlation_id or request.invocation_id,
                    reply_to=DIRECT_REPLY_TO if want_reply else None,
                    user_id=self._user_id,
                ),
                mandatory=True,
            )

    async def send(
        self,
        request: InvokeRequest,
        *,
        want_reply: bool = True,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Publish the request, confirmed.

        Without `timeout` one attempt, raising what the broker raised. With it, a publish that
        failed with the connection is made again on the next one until the time is up (the
        invocation id keeps it exactly-once), then `BrokerUnavailable`; so is a publish that a
        blocked (alarmed) broker does not confirm in time. A publish not confirmed within the
        client's `confirm_bound` is made again on a fresh channel."""
        if timeout is None:
            return await self._publish(request, want_reply, correlation_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = max(deadline - loop.time(), 0.0)
            attempt = min(remaining, self._confirm_bound or remaining)
            try:
                async with asyncio.timeout(attempt):  # no task of its own, as wait_for had
                    return await self._publish(request, want_reply, correlation_id)
            except TimeoutError:
                # A channel that published to a quorum queue whose leader was cut off waits
                # for it for ever (RabbitMQ 3.x): the next try goes on a fresh one. Leaving a
                # node that confirms nothing at all is the broker's own progress probe's call.
                amqp.close_soon(self._channel)
                self._channel = None
                if attempt >= remaining:
                    raise BrokerUnavailable(
                        "the broker did not confirm the request in time"
                    ) from None
            except BROKER_ERRORS as exc:
                if deadline - loop.time() <= RETRY_PAUSE_SECONDS:
                    raise BrokerUnavailable(f"broker unavailable: {type(exc).__name__}") from exc
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def call(self, request: InvokeRequest, timeout: float) -> InvokeResult | None:
        """Publish and wait for the worker's answer; None when none came within `timeout`
        although the request was confirmed; `BrokerUnavailable` when it never was."""
        # One correlation id per call: the same invocation may be in flight twice at once.
        correlation_id = f"{self._correlation_prefix}-{next(self._calls)}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        confirmed = False
        try:
            while True:
                waiter: asyncio.Future[InvokeResult | None] = loop.create_future()
                self._waiting[correlation_id] = waiter
                try:
                    await self.send(
                        request, correlation_id=correlation_id, timeout=deadline - loop.time()
                    )
                except BrokerUnavailable:
                    if confirmed:
                        return None  # queued: it is processed, the answer is in its status
                    raise
                confirmed = True
                try:
                    async with asyncio.timeout_at(deadline):
                        result = await waiter
                except TimeoutError:
                    return None
                if result is not None:
                    return result
                # The channel it was sent on was lost: ask again on the next one; the worker
                # answers a repeated invocation id with its first result.
        finally:
            self._waiting.pop(correlation_id, None)

    async def close(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
