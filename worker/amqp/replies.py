"""Replies to callers waiting on direct reply-to, on a connection of their own."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection

from worker.amqp.connection import Broker, as_broker_failure, live_connection
from worker.outage import BROKER_ERRORS

log = structlog.get_logger(__name__)

# How long a reply waits for its connection to be made again before it is dropped (a crash's
# connection is usually back within milliseconds), and how often it looks.
REPLY_RECONNECT_WAIT_SECONDS = 2.0
RECONNECT_POLL_SECONDS = 0.01
# Each loss of the reply connection drops the reply it went on for good, so a few stranded
# replies bring it down a few times at most; the others get this many tries in all.
REPLY_ATTEMPTS = 3


@dataclass(eq=False)
class _ReplyLink:
    """One reply channel and the replies in flight on it, numbered in the order they were sent."""

    channel: AbstractChannel
    in_flight: set[int] = field(default_factory=set)
    culprit: int | None = None

    def brought_down_by(self, number: int) -> bool:
        """Whether reply `number` is the one that took this channel down: the oldest that was
        unconfirmed when it went. The broker confirms a reply as soon as it has routed it, in
        order, so every reply sent before the one it crashed on was confirmed."""
        if self.culprit is None:
            self.culprit = min(self.in_flight)
        return number == self.culprit


class ReplyPublisher:
    """Answers to callers waiting on direct reply-to, sent on a connection of their own.

    On RabbitMQ 3.x a reply to a direct reply-to address whose node has stopped crashes the
    publishing channel (`case_clause` in `rabbit_channel:deliver_reply`), and the broker closes
    the channel's whole connection with INTERNAL_ERROR. On the consumer's connection, every
    such reply handed back every message the consumer held, each counting one delivery, and
    the request that asked for the reply came back to crash the next connection too, until
    the delivery limit dead-lettered it. Here only this connection goes, and is made again.

    Replies are confirmed, so that the ones lost with the connection are known: the oldest
    unconfirmed one is the reply that crashed it (its caller is gone with its node) and is
    dropped; every later one never reached the broker's routing and is sent again on the next
    connection (`REPLY_ATTEMPTS` tries in all). A reply is best effort all the same: a caller
    that gets none reads the invocation's status, which is written before the reply.
    """

    def __init__(self, source: Broker | AbstractConnection) -> None:
        self._source = source
        self._link: _ReplyLink | None = None
        self._opening = asyncio.Lock()
        self._numbers = itertools.count()

    async def publish(self, reply_to: str, message: aio_pika.Message) -> None:
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            link = await self._open()
            if link is None:
                log.warning(
                    "reply dropped: no reply connection", waited_s=REPLY_RECONNECT_WAIT_SECONDS
                )
                return
            number = next(self._numbers)
            link.in_flight.add(number)
            try:
                with as_broker_failure():
                    await link.channel.default_exchange.publish(
                        message, routing_key=reply_to, mandatory=False
                    )
                return
            except BROKER_ERRORS as exc:
                if self._link is link:
                    self._link = None
                if link.brought_down_by(number):
                    log.warning("reply dropped: the reply connection went on it", error=repr(exc))
                    return
                if attempt == REPLY_ATTEMPTS:
                    log.warning("reply dropped: the reply connection was lost", error=repr(exc))
            finally:
                link.in_flight.discard(number)

    async def _open(self) -> _ReplyLink | None:
        """The reply channel; None when no connection came within the wait."""
        try:
            async with asyncio.timeout(REPLY_RECONNECT_WAIT_SECONDS), self._opening:
                while self._link is None or self._link.channel.is_closed:
                    try:
                        connection = await live_connection(self._source)
                        with as_broker_failure():
                            channel = await connection.channel(publisher_confirms=True)
                        self._link = _ReplyLink(channel)
                    except BROKER_ERRORS:
                        # Lost before the process noticed: the next one is being made.
                        await asyncio.sleep(RECONNECT_POLL_SECONDS)
                return self._link
        except TimeoutError:
            return None
