"""RabbitMQ plumbing: connection, topology declaration, confirmed publishing, consuming.

Delivery guarantees live here: events are published persistent, mandatory and
publisher-confirmed; a consumer acks only after its handler succeeded, and a transient
failure goes back to its quorum queue after a backoff counted from the broker's own
delivery count, so the queue's delivery limit ends a poison message in its dead-letter queue.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelPreconditionFailed

from contracts.models import TriggerEvent
from contracts.topology import (
    ALL_TRIGGER_EVENTS,
    INVOKE_ROUTING_KEY,
    Topology,
    dead_letter_exchange,
    dead_letter_queue,
)
from worker import metrics

log = structlog.get_logger(__name__)

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
JSON = "application/json"
# Replicas of each quorum queue; RabbitMQ places fewer when the cluster has fewer nodes.
QUORUM_REPLICAS = 3
# Pause between two rounds over every node when none answers.
RECONNECT_SECONDS = 1.0


def url_user(setting: str) -> str:
    """The broker user an AMQP URL (or the first of a node list) connects as."""
    return urlsplit(setting.split(",")[0].strip()).username or "guest"


def node_urls(setting: str) -> list[str]:
    """`MTI_AMQP_URL` names one broker node or several, comma-separated (one cluster)."""
    urls = [url.strip() for url in setting.split(",") if url.strip()]
    if not urls:
        raise ValueError("MTI_AMQP_URL names no broker node")
    return urls


def _node(url: str) -> str:
    """host:port of a node URL, for logs (never the credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"


async def connect(url: str, name: str) -> AbstractRobustConnection:
    """A robust connection to the first node of the list that answers (short-lived commands)."""
    error: BaseException | None = None
    for node in node_urls(url):
        try:
            return await aio_pika.connect_robust(node, client_properties={"connection_name": name})
        except CONNECTION_EXCEPTIONS as exc:
            error = exc
    assert error is not None
    raise error


class Broker:
    """A long-running process's link to RabbitMQ: one connection at a time to one node of the
    list; when it is lost, a connection to the next node that answers.

    The connections are plain, not aio-pika's robust ones: a robust channel restores only the
    queues it declared itself, so consumers started on `get_queue(..., ensure=False)` and the
    direct reply-to consumer were never restored, and every publish asking for a reply then
    closed the channel with PRECONDITION_FAILED, for ever. Instead every role opens its
    channels and consumers afresh on each new connection (`connected`), which also lets it
    move to another node of a cluster.
    """

    def __init__(self, url: str, name: str) -> None:
        self._urls = node_urls(url)
        self._name = name
        self._next = 0  # the node tried first when (re)connecting
        self._connection: AbstractConnection | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def user(self) -> str:
        """The broker user it connects as (every node URL names the same one)."""
        return url_user(self._urls[0])

    @property
    def connection(self) -> AbstractConnection:
        """The current connection; it may be closed while the next one is being made."""
        assert self._connection is not None, "Broker.start() first"
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._ready.is_set()

    @property
    def name(self) -> str:
        """The connection name RabbitMQ shows for this process (`rabbitmqctl list_connections`)."""
        return self._name

    async def start(self) -> None:
        """Connect to the first node that answers; raises when none does (fail at start)."""
        await self._connect_any()
        self._supervisor = asyncio.create_task(self._supervise())

    async def connected(self, stop: asyncio.Event | None = None) -> AbstractConnection | None:
        """The live connection, waiting for the next one if it was lost; None once `stop` is set
        first."""
        if stop is None:
            await self._ready.wait()
            return self._connection
        ready = asyncio.ensure_future(self._ready.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopping.cancel()
        return None if stop.is_set() else self._connection

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()

    async def _connect_any(self) -> None:
        error: BaseException | None = None
        for _ in self._urls:
            url = self._urls[self._next]
            try:
                connection = await aio_pika.connect(
                    url, client_properties={"connection_name": self._name}
                )
            except CONNECTION_EXCEPTIONS as exc:
                error = exc
                self._next = (self._next + 1) % len(self._urls)
                continue
            self._lost.clear()
            connection.close_callbacks.add(functools.partial(self._closed, connection))
            self._connection = connection
            self._ready.set()
            log.info("broker connected", node=_node(url))
            return
        assert error is not None
        raise error

    def _closed(self, connection: AbstractConnection, *_: object) -> None:
        # Only the current connection's loss counts: a late callback of an earlier one must
        # not make the process leave a live node.
        if connection is self._connection:
            self._lost.set()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            if self._closing:
                return
            self._ready.clear()
            # The next node first: the one just lost is the least likely to answer.
            self._next = (self._next + 1) % len(self._urls)
            log.warning("broker connection lost; connecting to the next node that answers")
            while True:
                try:
                    await self._connect_any()
                    break
                except CONNECTION_EXCEPTIONS as exc:
                    log.warning("no broker node answers", error=str(exc), retry_s=RECONNECT_SECONDS)
                    await asyncio.sleep(RECONNECT_SECONDS)


async def confirmed_channel(
    connection: AbstractConnection, prefetch: int | None = None
) -> AbstractChannel:
    """A channel whose publishes wait for the broker's confirm and raise when unroutable."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    if prefetch:
        await channel.set_qos(prefetch_count=prefetch)
    return channel


def _consumer_queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange(queue),
        # At-least-once dead-lettering: a dead letter is only dropped once its DLQ confirmed it.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_topology(
    channel: AbstractChannel, topology: Topology, delivery_limit: int
) -> None:
    """Declare every exchange, queue and binding; idempotent, run at the start of every role."""
    trigger_exchange = await channel.declare_exchange(
        topology.trigger_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    invoke_exchange = await channel.declare_exchange(
        topology.invoke_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    queues: dict[str, AbstractQueue] = {}
    for name in topology.consumer_queues:
        dlx = await channel.declare_exchange(
            dead_letter_exchange(name), aio_pika.ExchangeType.FANOUT, durable=True
        )
        dlq = await _declare_quorum_queue(
            channel, dead_letter_queue(name), {"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx)
        queues[name] = await _declare_quorum_queue(
            channel, name, _consumer_queue_arguments(name, delivery_limit)
        )
    await queues[topology.invoke_queue].bind(invoke_exchange, INVOKE_ROUTING_KEY)
    await queues[topology.scheduler_queue].bind(trigger_exchange, ALL_TRIGGER_EVENTS)


async def _declare_quorum_queue(
    channel: AbstractChannel, name: str, arguments: dict[str, Any]
) -> AbstractQueue:
    """Declare a quorum queue with `QUORUM_REPLICAS` replicas. A queue made before the replica
    count was declared keeps its arguments (RabbitMQ refuses to change them), and its
    replicas are managed with `rabbitmq-queues grow`/`shrink` instead."""
    arguments = {"x-quorum-initial-group-size": QUORUM_REPLICAS, **arguments}
    try:
        return await channel.declare_queue(name, durable=True, arguments=arguments)
    except ChannelPreconditionFailed as exc:
        if "x-quorum-initial-group-size" not in str(exc):
            raise
    await channel.reopen()  # the refusal closed the channel
    del arguments["x-quorum-initial-group-size"]
    return await channel.declare_queue(name, durable=True, arguments=arguments)


async def delete_topology(channel: AbstractChannel, topology: Topology) -> None:
    """Remove what `declare_topology` made (tests and benchmarks clean up with this)."""
    for name in topology.consumer_queues:
        for queue in (name, dead_letter_queue(name)):
            await channel.queue_delete(queue)
        await channel.exchange_delete(dead_letter_exchange(name))
    await channel.exchange_delete(topology.invoke_exchange)
    if topology.platform_trigger_exchange is None:
        await channel.exchange_delete(topology.trigger_exchange)


def broker_user(source: Any) -> str:
    """The broker user a `Broker` or a connection connects as: the only `user_id` property
    RabbitMQ lets it publish (worker/identity.py trusts that property)."""
    if isinstance(source, Broker):
        return source.user
    return getattr(getattr(source, "url", None), "user", None) or "guest"


def json_message(
    body: bytes,
    *,
    message_id: str,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    user_id: str | None = None,
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type=JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        timestamp=datetime.now(UTC),
        user_id=user_id,
    )


async def publish_event(
    exchange: AbstractExchange, event: TriggerEvent, body: bytes | None = None
) -> None:
    """Publish onto the trigger events exchange and wait for the broker's confirm (`body`:
    the event already serialised, when the caller has it)."""
    await exchange.publish(
        json_message(body or event.body(), message_id=event.event_id),
        routing_key=event.routing_key(),
        mandatory=True,
    )


async def live_connection(source: Broker | AbstractConnection) -> AbstractConnection:
    """The connection to use now: a process's `Broker`'s current one (waiting for the next
    one if it was lost), or the one connection given."""
    if not isinstance(source, Broker):
        return source
    connection = await source.connected()
    assert connection is not None
    return connection


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
                await link.channel.default_exchange.publish(
                    message, routing_key=reply_to, mandatory=False
                )
                return
            except CONNECTION_EXCEPTIONS as exc:
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
                        channel = await connection.channel(publisher_confirms=True)
                        self._link = _ReplyLink(channel)
                    except CONNECTION_EXCEPTIONS:
                        # Lost before the process noticed: the next one is being made.
                        await asyncio.sleep(RECONNECT_POLL_SECONDS)
                return self._link
        except TimeoutError:
            return None


# Past this many doublings every backoff is at its cap anyway; a forged header cannot overflow.
MAX_BACKOFF_DOUBLINGS = 32


def delivery_count(message: AbstractIncomingMessage) -> int:
    """How often the quorum queue delivered this message before (its own count, not ours).
    A publisher can forge the header on a first delivery: anything odd counts as 0."""
    count = (message.headers or {}).get("x-delivery-count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return 0
    return count


async def retry_later(
    message: AbstractIncomingMessage, *, role: str, base: float, cap: float
) -> None:
    """Return a message to its queue after an exponential backoff; the queue counts the tries."""
    attempt = delivery_count(message)
    delay = min(cap, base * 2 ** min(attempt, MAX_BACKOFF_DOUBLINGS))
    metrics.TRANSIENT_FAILURES.labels(role=role).inc()
    log.warning("transient failure, will retry", attempt=attempt + 1, retry_in_s=delay)
    await asyncio.sleep(delay)
    await message.nack(requeue=True)


async def _dead_letter_unsettled(message: AbstractIncomingMessage) -> None:
    """The settling path is total: a handler that failed even to ack, nack or retry must not
    leave its message unacked, holding a prefetch slot until the process restarts."""
    log.exception("message handling failed; dead-lettering it", message_id=message.message_id)
    if message.processed:
        return
    try:
        await message.reject(requeue=False)
    except Exception:  # the channel is gone: the broker hands the message back by itself
        log.warning("could not dead-letter; the broker redelivers it", exc_info=True)


async def consume_until(
    queue: AbstractQueue, handler: Handler, stop: asyncio.Event, grace_seconds: float
) -> None:
    """Consume until `stop` is set or the channel is lost; on `stop`, stop consuming, let
    in-flight messages finish within the grace period and cancel the rest (their messages go
    back to the queue unacked)."""
    in_flight: set[asyncio.Task[None]] = set()

    async def tracked(message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        in_flight.add(task)
        try:
            await handler(message)
        except Exception:
            await _dead_letter_unsettled(message)
        finally:
            in_flight.discard(task)

    tag = await queue.consume(tracked)
    log.info("consuming", queue=queue.name)
    stopping = asyncio.ensure_future(stop.wait())
    lost = asyncio.ensure_future(queue.channel.closed())
    await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    lost.cancel()
    pending: set[asyncio.Task[None]] = set()
    if not stop.is_set():
        # The channel or its connection is gone: no message in flight can be acked any more,
        # and the broker hands every one of them out again; the caller consumes anew.
        pending = set(in_flight)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        log.warning("consumer lost its channel", queue=queue.name, cancelled=len(pending))
        return
    await queue.cancel(tag)
    if in_flight:
        _, pending = await asyncio.wait(set(in_flight), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    log.info("stopped consuming", queue=queue.name, cancelled=len(pending))
