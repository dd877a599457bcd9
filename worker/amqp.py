"""RabbitMQ plumbing: connection, topology declaration, confirmed publishing, consuming.

Delivery guarantees live here: events are published persistent, mandatory and
publisher-confirmed; a consumer acks only after its handler succeeded, and a transient
failure goes back to its quorum queue after a backoff counted from the broker's own
delivery count, so the queue's delivery limit ends a poison message in its dead-letter queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

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


async def connect(url: str, name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name})


async def confirmed_channel(
    connection: AbstractRobustConnection, prefetch: int | None = None
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
        dlq = await channel.declare_queue(
            dead_letter_queue(name), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx)
        queues[name] = await channel.declare_queue(
            name, durable=True, arguments=_consumer_queue_arguments(name, delivery_limit)
        )
    await queues[topology.invoke_queue].bind(invoke_exchange, INVOKE_ROUTING_KEY)
    await queues[topology.scheduler_queue].bind(trigger_exchange, ALL_TRIGGER_EVENTS)


async def delete_topology(channel: AbstractChannel, topology: Topology) -> None:
    """Remove what `declare_topology` made (tests and benchmarks clean up with this)."""
    for name in topology.consumer_queues:
        for queue in (name, dead_letter_queue(name)):
            await channel.queue_delete(queue)
        await channel.exchange_delete(dead_letter_exchange(name))
    await channel.exchange_delete(topology.invoke_exchange)
    if topology.platform_trigger_exchange is None:
        await channel.exchange_delete(topology.trigger_exchange)


def json_message(
    body: bytes, *, message_id: str, correlation_id: str | None = None, reply_to: str | None = None
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type=JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        timestamp=datetime.now(UTC),
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
    """Consume until `stop` is set; then stop consuming, let in-flight messages finish within the
    grace period and cancel the rest (their messages go back to the queue unacked)."""
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
    await stop.wait()
    await queue.cancel(tag)
    pending: set[asyncio.Task[None]] = set()
    if in_flight:
        _, pending = await asyncio.wait(set(in_flight), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    log.info("stopped consuming", queue=queue.name, cancelled=len(pending))
